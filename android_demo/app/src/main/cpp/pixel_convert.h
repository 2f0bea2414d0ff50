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
 * Size and borders: pixels are first mirror-padded by the metadata's border_margin on every side
 * (at most width - 1 columns and height - 1 rows), which keeps the stride-2 stages' edge band
 * out of the picture, then at the bottom and right up to the next multiple of size_multiple (4);
 * both mirrors are numpy.pad mode "reflect" (the edge row/column is not repeated), applied one
 * after the other exactly as the Python library does. The output is cropped back.
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
/* Mirror-pads width x height pixels by margin_x columns left and right and margin_y rows above
 * and below (the inner image, (width + 2 margin_x) x (height + 2 margin_y)), then that at its
 * bottom and right up to padded_width x padded_height. Needs 0 <= margin_x <= width - 1,
 * inner width <= padded_width <= 2 * inner width - 1, the same for heights. Returns 0, or -1. */
int cin_argb_mirror_pad(const int32_t *pixels, int width, int height, int margin_x, int margin_y, int32_t *padded,
                        int padded_width, int padded_height);

#ifdef __cplusplus
}
#endif

#endif
