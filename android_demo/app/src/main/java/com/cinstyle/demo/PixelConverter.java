package com.cinstyle.demo;

import java.nio.ByteBuffer;

/**
 * Native (JNI) conversion between ARGB_8888 pixels and the model's image tensors, in place into
 * direct ByteBuffers in native byte order. The contract and its golden test vectors are shared
 * with the Python library (golden/pixels.json). Bad arguments throw NullPointerException or
 * IllegalArgumentException; they never crash the process.
 */
public final class PixelConverter {
    static {
        System.loadLibrary("cinstyle_pixels");
    }

    private PixelConverter() {}

    /** ARGB pixels to float32 RGB in [0, 1]; {@code out} needs width * height * 12 bytes. */
    public static native void argbToFloat(int[] pixels, int width, int height, ByteBuffer out);

    /** ARGB pixels to int8 ({@code signed}) or uint8 RGB with the tensor's scale and zero point. */
    public static native void argbToQuantized(int[] pixels, int width, int height, ByteBuffer out, float scale,
                                              int zeroPoint, boolean signed);

    /** float32 RGB (clamped to [0, 1]) to opaque ARGB pixels. */
    public static native void floatToArgb(ByteBuffer in, int width, int height, int[] pixels);

    /**
     * Mirror-pads {@code width x height} pixels by {@code marginX} columns on the left and right and
     * {@code marginY} rows above and below, then that image at its bottom and right up to {@code
     * paddedWidth x paddedHeight} (each mirror as numpy.pad's "reflect": the edge is not repeated).
     * The margin keeps the model's edge artefacts out of the cropped result; the model takes sizes
     * that are multiples of its metadata's size_multiple. Needs 0 <= margin < side and side + 2 *
     * margin <= padded side < 2 * (side + 2 * margin).
     */
    public static native void mirrorPad(int[] pixels, int width, int height, int marginX, int marginY, int[] padded,
                                        int paddedWidth, int paddedHeight);

    /** int8 / uint8 RGB with the tensor's scale and zero point to opaque ARGB pixels. */
    public static native void quantizedToArgb(ByteBuffer in, int width, int height, int[] pixels, float scale,
                                              int zeroPoint, boolean signed);
}
