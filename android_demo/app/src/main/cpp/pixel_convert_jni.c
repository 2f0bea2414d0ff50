/*
 * JNI bindings of com.cinstyle.demo.PixelConverter. Every argument is checked before any
 * memory is touched; a bad argument throws a Java exception, never crashes the process:
 *   null array or buffer        -> NullPointerException
 *   width/height <= 0, overflow -> IllegalArgumentException
 *   array shorter than w*h      -> IllegalArgumentException
 *   buffer not direct           -> IllegalArgumentException
 *   buffer too small            -> IllegalArgumentException
 */
#include <jni.h>
#include <stdint.h>

#include "pixel_convert.h"

static void throw_java(JNIEnv *env, const char *cls, const char *message) {
    jclass exception = (*env)->FindClass(env, cls);
    if (exception != NULL) (*env)->ThrowNew(env, exception, message);
}

/* Checks the arguments; returns the pixel count and sets *address to the buffer's memory, or returns -1 after
 * throwing. The address is taken here, before any array is held critical: no JNI call may come in between. */
static jlong check_args(JNIEnv *env, jintArray pixels, jint width, jint height, jobject buffer,
                        jlong bytes_per_pixel, void **address) {
    if (pixels == NULL) { throw_java(env, "java/lang/NullPointerException", "pixels is null"); return -1; }
    if (buffer == NULL) { throw_java(env, "java/lang/NullPointerException", "buffer is null"); return -1; }
    if (width <= 0 || height <= 0) {
        throw_java(env, "java/lang/IllegalArgumentException", "width and height must be positive");
        return -1;
    }
    jlong count = (jlong)width * (jlong)height;
    if (count > (jlong)(INT32_MAX / 12)) {
        throw_java(env, "java/lang/IllegalArgumentException", "width * height is too large");
        return -1;
    }
    if ((jlong)(*env)->GetArrayLength(env, pixels) < count) {
        throw_java(env, "java/lang/IllegalArgumentException", "pixels array is shorter than width * height");
        return -1;
    }
    *address = (*env)->GetDirectBufferAddress(env, buffer);
    if (*address == NULL) {
        throw_java(env, "java/lang/IllegalArgumentException", "buffer must be a direct ByteBuffer");
        return -1;
    }
    if ((*env)->GetDirectBufferCapacity(env, buffer) < count * bytes_per_pixel) {
        throw_java(env, "java/lang/IllegalArgumentException", "buffer is too small for width * height pixels");
        return -1;
    }
    return count;
}

static int check_quantization(JNIEnv *env, jfloat scale) {
    if (!(scale > 0.0f)) {
        throw_java(env, "java/lang/IllegalArgumentException", "quantization scale must be positive");
        return 0;
    }
    return 1;
}

JNIEXPORT void JNICALL Java_com_cinstyle_demo_PixelConverter_argbToFloat(
        JNIEnv *env, jclass cls, jintArray pixels, jint width, jint height, jobject out) {
    (void)cls;
    void *address;
    jlong count = check_args(env, pixels, width, height, out, 3 * (jlong)sizeof(float), &address);
    if (count < 0) return;
    jint *px = (*env)->GetPrimitiveArrayCritical(env, pixels, NULL);
    if (px == NULL) return;
    cin_argb_to_float((const int32_t *)px, (size_t)count, (float *)address);
    (*env)->ReleasePrimitiveArrayCritical(env, pixels, px, JNI_ABORT);
}

JNIEXPORT void JNICALL Java_com_cinstyle_demo_PixelConverter_argbToQuantized(
        JNIEnv *env, jclass cls, jintArray pixels, jint width, jint height, jobject out, jfloat scale,
        jint zero_point, jboolean is_signed) {
    (void)cls;
    if (!check_quantization(env, scale)) return;
    void *address;
    jlong count = check_args(env, pixels, width, height, out, 3, &address);
    if (count < 0) return;
    jint *px = (*env)->GetPrimitiveArrayCritical(env, pixels, NULL);
    if (px == NULL) return;
    cin_argb_to_quantized((const int32_t *)px, (size_t)count, address, scale,
                          zero_point, is_signed);
    (*env)->ReleasePrimitiveArrayCritical(env, pixels, px, JNI_ABORT);
}

JNIEXPORT void JNICALL Java_com_cinstyle_demo_PixelConverter_floatToArgb(
        JNIEnv *env, jclass cls, jobject in, jint width, jint height, jintArray pixels) {
    (void)cls;
    void *address;
    jlong count = check_args(env, pixels, width, height, in, 3 * (jlong)sizeof(float), &address);
    if (count < 0) return;
    jint *px = (*env)->GetPrimitiveArrayCritical(env, pixels, NULL);
    if (px == NULL) return;
    cin_float_to_argb((const float *)address, (size_t)count, (int32_t *)px);
    (*env)->ReleasePrimitiveArrayCritical(env, pixels, px, 0);
}

JNIEXPORT void JNICALL Java_com_cinstyle_demo_PixelConverter_quantizedToArgb(
        JNIEnv *env, jclass cls, jobject in, jint width, jint height, jintArray pixels, jfloat scale,
        jint zero_point, jboolean is_signed) {
    (void)cls;
    if (!check_quantization(env, scale)) return;
    void *address;
    jlong count = check_args(env, pixels, width, height, in, 3, &address);
    if (count < 0) return;
    jint *px = (*env)->GetPrimitiveArrayCritical(env, pixels, NULL);
    if (px == NULL) return;
    cin_quantized_to_argb(address, (size_t)count, (int32_t *)px, scale, zero_point,
                          is_signed);
    (*env)->ReleasePrimitiveArrayCritical(env, pixels, px, 0);
}

JNIEXPORT void JNICALL Java_com_cinstyle_demo_PixelConverter_mirrorPad(
        JNIEnv *env, jclass cls, jintArray pixels, jint width, jint height, jint margin_x, jint margin_y,
        jintArray padded, jint padded_width, jint padded_height) {
    (void)cls;
    if (pixels == NULL) { throw_java(env, "java/lang/NullPointerException", "pixels is null"); return; }
    if (padded == NULL) { throw_java(env, "java/lang/NullPointerException", "padded is null"); return; }
    if (width <= 0 || height <= 0 || margin_x < 0 || margin_y < 0 || margin_x >= width || margin_y >= height) {
        throw_java(env, "java/lang/IllegalArgumentException",
                   "width and height must be positive and margins between 0 and the side minus 1");
        return;
    }
    jlong inner_width = (jlong)width + 2 * (jlong)margin_x, inner_height = (jlong)height + 2 * (jlong)margin_y;
    if (padded_width < inner_width || padded_height < inner_height || (jlong)padded_width > 2 * inner_width - 1 ||
        (jlong)padded_height > 2 * inner_height - 1) {
        throw_java(env, "java/lang/IllegalArgumentException",
                   "padded size must be at least the image size plus both margins and less than twice that");
        return;
    }
    jlong count = (jlong)width * (jlong)height, padded_count = (jlong)padded_width * (jlong)padded_height;
    if (padded_count > (jlong)(INT32_MAX / 12)) {
        throw_java(env, "java/lang/IllegalArgumentException", "padded width * height is too large");
        return;
    }
    if ((jlong)(*env)->GetArrayLength(env, pixels) < count ||
        (jlong)(*env)->GetArrayLength(env, padded) < padded_count) {
        throw_java(env, "java/lang/IllegalArgumentException", "pixels or padded array is too short");
        return;
    }
    jint *src = (*env)->GetPrimitiveArrayCritical(env, pixels, NULL);
    if (src == NULL) return;
    jint *dst = (*env)->GetPrimitiveArrayCritical(env, padded, NULL);
    if (dst == NULL) { (*env)->ReleasePrimitiveArrayCritical(env, pixels, src, JNI_ABORT); return; }
    cin_argb_mirror_pad((const int32_t *)src, width, height, margin_x, margin_y, (int32_t *)dst, padded_width,
                        padded_height);
    (*env)->ReleasePrimitiveArrayCritical(env, padded, dst, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, pixels, src, JNI_ABORT);
}
