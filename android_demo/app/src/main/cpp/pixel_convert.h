/*
 * Pixel conversion between Android ARGB_8888 ints and the model's image tensors.
 *
 * The contract (shared with the Python library; golden vectors in golden/pixels.json):
 *   to the model:   v = channel / 255.0f                         (float32 input, RGB order)
 *                   q = clamp(rint(v / scale) + zero_point)      (int8 / uint8 input)
 *   from the model: v = clamp(x, 0, 1)                           (float32 output)
 *                   v = (q - zero_point) * scale                  (int8 / uint8 output)
 *                   channel = (uint8) rint(clamp(v, 0, 1) * 255)  alpha = 0xFF
 * rint rounds half to even, as numpy.rint does.
 *
 * Size: the model takes H and W that are multiples of its metadata's size_multiple (4). Pixels
 * are mirror-padded at the bottom and right (numpy.pad mode "reflect": the edge row/column is
 * not repeated), exactly as the Python library does, and the output is cropped back.
 */
#ifndef CIN_STYLE_PIXEL_CONVERT_H
#define CIN_STYLE_PIXEL_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void cin_argb_to_float(const int32_t *pixels, size_t count, float *out);
void cin_argb_to_quantized(const int32_t *pixels, size_t count, void *out, float scale, int32_t zero_point,
                           int is_signed);
void cin_float_to_argb(const float *values, size_t count, int32_t *pixels);
void cin_quantized_to_argb(const void *values, size_t count, int32_t *pixels, float scale, int32_t zero_point,
                           int is_signed);
/* Mirror-pads width x height pixels into padded_width x padded_height (bottom/right); needs
 * width <= padded_width <= 2 * width - 1 and the same for heights. Returns 0, or -1 if not. */
int cin_argb_mirror_pad(const int32_t *pixels, int width, int height, int32_t *padded, int padded_width,
                        int padded_height);

#ifdef __cplusplus
}
#endif

#endif
