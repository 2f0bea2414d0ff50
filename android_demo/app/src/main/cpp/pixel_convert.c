/* Pure C pixel loops (no JNI): see pixel_convert.h for the contract. */
#include "pixel_convert.h"

#include <math.h>

static inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

static inline int32_t clamp_int(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

static inline int32_t to_channel(float v) { return (int32_t)lrintf(clamp01(v) * 255.0f); }

void cin_argb_to_float(const int32_t *pixels, size_t count, float *out) {
    for (size_t i = 0; i < count; ++i) {  /* division, not a multiply by 1/255: bit-exact with Python */
        uint32_t p = (uint32_t)pixels[i];
        out[3 * i + 0] = (float)((p >> 16) & 0xFF) / 255.0f;
        out[3 * i + 1] = (float)((p >> 8) & 0xFF) / 255.0f;
        out[3 * i + 2] = (float)(p & 0xFF) / 255.0f;
    }
}

void cin_argb_to_quantized(const int32_t *pixels, size_t count, void *out, float scale, int32_t zero_point,
                           int is_signed) {
    const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    int8_t *s8 = (int8_t *)out;
    uint8_t *u8 = (uint8_t *)out;
    for (size_t i = 0; i < count; ++i) {
        uint32_t p = (uint32_t)pixels[i];
        const uint32_t channels[3] = {(p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF};
        for (int c = 0; c < 3; ++c) {
            float v = (float)channels[c] / 255.0f;
            int32_t q = clamp_int((int32_t)lrintf(v / scale) + zero_point, lo, hi);
            if (is_signed) s8[3 * i + c] = (int8_t)q; else u8[3 * i + c] = (uint8_t)q;
        }
    }
}

void cin_float_to_argb(const float *values, size_t count, int32_t *pixels) {
    for (size_t i = 0; i < count; ++i) {
        uint32_t r = (uint32_t)to_channel(values[3 * i]);
        uint32_t g = (uint32_t)to_channel(values[3 * i + 1]);
        uint32_t b = (uint32_t)to_channel(values[3 * i + 2]);
        pixels[i] = (int32_t)(0xFF000000u | (r << 16) | (g << 8) | b);
    }
}

void cin_quantized_to_argb(const void *values, size_t count, int32_t *pixels, float scale, int32_t zero_point,
                           int is_signed) {
    const int8_t *s8 = (const int8_t *)values;
    const uint8_t *u8 = (const uint8_t *)values;
    for (size_t i = 0; i < count; ++i) {
        uint32_t channel[3];
        for (int c = 0; c < 3; ++c) {
            int32_t q = is_signed ? (int32_t)s8[3 * i + c] : (int32_t)u8[3 * i + c];
            channel[c] = (uint32_t)to_channel((float)(q - zero_point) * scale);
        }
        pixels[i] = (int32_t)(0xFF000000u | (channel[0] << 16) | (channel[1] << 8) | channel[2]);
    }
}

/* numpy.pad "reflect" of one index into [0, size): needs -size < i < 2 * size - 1. */
static inline int reflect(int i, int size) { return i < 0 ? -i : (i < size ? i : 2 * (size - 1) - i); }

/* Source index of padded index i: the multiple padding reflects the inner (margin-padded) image,
 * whose index j reflects the source at j - margin. */
static inline int padded_source(int i, int size, int margin) {
    return reflect(reflect(i, size + 2 * margin) - margin, size);
}

int cin_argb_mirror_pad(const int32_t *pixels, int width, int height, int margin_x, int margin_y, int32_t *padded,
                        int padded_width, int padded_height) {
    if (width < 1 || height < 1 || margin_x < 0 || margin_y < 0 || margin_x > width - 1 || margin_y > height - 1) {
        return -1;
    }
    const long long inner_width = (long long)width + 2LL * margin_x, inner_height = (long long)height + 2LL * margin_y;
    if (padded_width < inner_width || padded_height < inner_height || padded_width > 2 * inner_width - 1 ||
        padded_height > 2 * inner_height - 1) {
        return -1;
    }
    for (int y = 0; y < padded_height; ++y) {
        const int32_t *row = pixels + (size_t)padded_source(y, height, margin_y) * (size_t)width;
        int32_t *out = padded + (size_t)y * (size_t)padded_width;
        for (int x = 0; x < padded_width; ++x) out[x] = row[padded_source(x, width, margin_x)];
    }
    return 0;
}
