import com.cinstyle.demo.PixelConverter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Host test of the native pixel conversion (the same C sources the Android app builds): the golden
 * vectors shared with the Python tests, a round trip, every bounds error, and the 1024x1024 timing.
 * Exits non-zero on the first failure.
 */
public final class PixelConverterHostTest {
    private static int checks = 0;

    public static void main(String[] args) throws Exception {
        String json = Files.readString(Path.of(args[0]), StandardCharsets.UTF_8);
        goldenVectors(json);
        mirrorPadVectors(json);
        roundTrip();
        boundsErrors();
        timing();
        System.out.println("host test passed: " + checks + " checks");
    }

    private static void check(boolean ok, String what) {
        checks++;
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    // ---- a minimal reader for the golden file's flat number arrays
    private static double[] numbers(String json, String key, int occurrence) {
        Matcher m = Pattern.compile("\"" + key + "\":\\s*\\[([^\\]]*)\\]").matcher(json);
        for (int i = 0; i <= occurrence; i++) {
            if (!m.find()) throw new AssertionError("golden file has no " + key + " #" + occurrence);
        }
        List<Double> values = new ArrayList<>();
        for (String part : m.group(1).split(",")) {
            if (!part.isBlank()) values.add(Double.parseDouble(part.trim()));
        }
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double scalar(String json, String key, int occurrence) {
        Matcher m = Pattern.compile("\"" + key + "\":\\s*(-?[0-9.eE+-]+|true|false)").matcher(json);
        for (int i = 0; i <= occurrence; i++) {
            if (!m.find()) throw new AssertionError("golden file has no " + key + " #" + occurrence);
        }
        String v = m.group(1);
        return v.equals("true") ? 1 : v.equals("false") ? 0 : Double.parseDouble(v);
    }

    private static int[] ints(double[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (int) values[i];
        return out;
    }

    private static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    private static void goldenVectors(String json) {
        int[] pixels = ints(numbers(json, "pixels", 0));
        int n = pixels.length;
        double[] expectedFloats = numbers(json, "to_float", 0);
        ByteBuffer floats = direct(n * 12);
        PixelConverter.argbToFloat(pixels, n, 1, floats);
        for (int i = 0; i < 3 * n; i++) {
            check(floats.getFloat(4 * i) == (float) expectedFloats[i], "to_float[" + i + "]");
        }
        for (int k = 0; k < 3; k++) {  // the three quantizations of "to_quantized"
            float scale = (float) scalar(json, "scale", k);
            int zeroPoint = (int) scalar(json, "zero_point", k);
            boolean signed = scalar(json, "signed", k) == 1;
            int[] expected = ints(numbers(json, "values", k));
            ByteBuffer q = direct(n * 3);
            PixelConverter.argbToQuantized(pixels, n, 1, q, scale, zeroPoint, signed);
            for (int i = 0; i < 3 * n; i++) {
                int got = signed ? q.get(i) : (q.get(i) & 0xFF);
                check(got == expected[i], "to_quantized #" + k + " [" + i + "] " + got + " != " + expected[i]);
            }
        }
        double[] outFloats = numbers(json, "values", 3);
        int[] expectedPixels = ints(numbers(json, "pixels", 1));
        ByteBuffer in = direct(outFloats.length * 4);
        for (int i = 0; i < outFloats.length; i++) in.putFloat(4 * i, (float) outFloats[i]);
        int[] got = new int[outFloats.length / 3];
        PixelConverter.floatToArgb(in, got.length, 1, got);
        for (int i = 0; i < got.length; i++) check(got[i] == expectedPixels[i], "from_float[" + i + "]");
        for (int k = 0; k < 3; k++) {  // "from_quantized": scale/zero_point entries 3..5
            float scale = (float) scalar(json, "scale", 3 + k);
            int zeroPoint = (int) scalar(json, "zero_point", 3 + k);
            boolean signed = scalar(json, "signed", 3 + k) == 1;
            int[] values = ints(numbers(json, "values", 4 + k));
            int[] expected = ints(numbers(json, "pixels", 2 + k));
            ByteBuffer q = direct(values.length);
            for (int i = 0; i < values.length; i++) q.put(i, (byte) values[i]);
            int[] out = new int[values.length / 3];
            PixelConverter.quantizedToArgb(q, out.length, 1, out, scale, zeroPoint, signed);
            for (int i = 0; i < out.length; i++) check(out[i] == expected[i], "from_quantized #" + k + " [" + i + "]");
        }
    }

    private static void mirrorPadVectors(String json) {
        int cases = (int) Pattern.compile("\"mirror_width\"").matcher(json).results().count();
        check(cases >= 5, "golden file has " + cases + " mirror_pad cases, expected at least 5");
        for (int k = 0; k < cases; k++) {
            int width = (int) scalar(json, "mirror_width", k), height = (int) scalar(json, "mirror_height", k);
            int marginX = (int) scalar(json, "mirror_margin_x", k), marginY = (int) scalar(json, "mirror_margin_y", k);
            int paddedWidth = (int) scalar(json, "mirror_padded_width", k);
            int paddedHeight = (int) scalar(json, "mirror_padded_height", k);
            int[] source = ints(numbers(json, "mirror_source", k));
            int[] expected = ints(numbers(json, "mirror_padded", k));
            int[] got = new int[paddedWidth * paddedHeight];
            PixelConverter.mirrorPad(source, width, height, marginX, marginY, got, paddedWidth, paddedHeight);
            for (int i = 0; i < got.length; i++) {
                check(got[i] == expected[i], "mirror_pad #" + k + " [" + i + "] " + got[i] + " != " + expected[i]);
            }
        }
    }

    private static void roundTrip() {
        Random random = new Random(7);
        int w = 37, h = 23;
        int[] pixels = new int[w * h];
        for (int i = 0; i < pixels.length; i++) pixels[i] = random.nextInt() | 0xFF000000;
        ByteBuffer floats = direct(w * h * 12);
        PixelConverter.argbToFloat(pixels, w, h, floats);
        int[] back = new int[w * h];
        PixelConverter.floatToArgb(floats, w, h, back);
        for (int i = 0; i < pixels.length; i++) check(back[i] == pixels[i], "float round trip " + i);
        ByteBuffer q = direct(w * h * 3);
        PixelConverter.argbToQuantized(pixels, w, h, q, 1f / 255f, -128, true);
        PixelConverter.quantizedToArgb(q, w, h, back, 1f / 255f, -128, true);
        for (int i = 0; i < pixels.length; i++) check(back[i] == pixels[i], "int8 round trip " + i);
    }

    private interface Call {
        void run();
    }

    private static void expect(Class<? extends Throwable> type, String what, Call call) {
        try {
            call.run();
        } catch (Throwable t) {
            check(type.isInstance(t), what + ": threw " + t);
            return;
        }
        check(false, what + ": did not throw");
    }

    private static void boundsErrors() {
        int[] pixels = new int[12];
        ByteBuffer ok = direct(12 * 12);
        expect(NullPointerException.class, "null pixels", () -> PixelConverter.argbToFloat(null, 3, 4, ok));
        expect(NullPointerException.class, "null buffer", () -> PixelConverter.argbToFloat(pixels, 3, 4, null));
        expect(IllegalArgumentException.class, "array too short", () -> PixelConverter.argbToFloat(pixels, 4, 4, ok));
        expect(IllegalArgumentException.class, "zero width", () -> PixelConverter.argbToFloat(pixels, 0, 4, ok));
        expect(IllegalArgumentException.class, "negative height", () -> PixelConverter.floatToArgb(ok, 3, -1, pixels));
        expect(IllegalArgumentException.class, "overflow", () -> PixelConverter.argbToFloat(pixels, 1 << 16, 1 << 16, ok));
        expect(IllegalArgumentException.class, "buffer too small",
               () -> PixelConverter.argbToFloat(pixels, 3, 4, direct(12 * 12 - 1)));
        expect(IllegalArgumentException.class, "heap buffer",
               () -> PixelConverter.argbToFloat(pixels, 3, 4, ByteBuffer.allocate(12 * 12)));
        expect(IllegalArgumentException.class, "quantized buffer too small",
               () -> PixelConverter.argbToQuantized(pixels, 3, 4, direct(35), 0.1f, 0, true));
        expect(IllegalArgumentException.class, "bad scale",
               () -> PixelConverter.argbToQuantized(pixels, 3, 4, direct(36), 0f, 0, true));
        expect(IllegalArgumentException.class, "output array too short",
               () -> PixelConverter.quantizedToArgb(direct(48), 4, 4, pixels, 0.1f, 0, false));
        expect(NullPointerException.class, "null output array",
               () -> PixelConverter.floatToArgb(ok, 3, 4, null));
        expect(NullPointerException.class, "null padded array",
               () -> PixelConverter.mirrorPad(pixels, 3, 4, 0, 0, null, 4, 4));
        expect(IllegalArgumentException.class, "padding past the mirror",
               () -> PixelConverter.mirrorPad(pixels, 3, 4, 0, 0, new int[64], 8, 4));
        expect(IllegalArgumentException.class, "padded smaller than the image",
               () -> PixelConverter.mirrorPad(pixels, 3, 4, 0, 0, new int[12], 2, 4));
        expect(IllegalArgumentException.class, "padded smaller than the image and margins",
               () -> PixelConverter.mirrorPad(pixels, 3, 4, 1, 1, new int[64], 4, 6));
        expect(IllegalArgumentException.class, "margin as wide as the image",
               () -> PixelConverter.mirrorPad(pixels, 3, 4, 3, 0, new int[64], 12, 4));
        expect(IllegalArgumentException.class, "negative margin",
               () -> PixelConverter.mirrorPad(pixels, 3, 4, 0, -1, new int[64], 4, 4));
        expect(IllegalArgumentException.class, "padded array too short",
               () -> PixelConverter.mirrorPad(pixels, 3, 4, 0, 0, new int[15], 4, 4));
    }

    private static double medianMs(Call call) {
        double[] times = new double[7];
        call.run();
        for (int i = 0; i < times.length; i++) {
            long start = System.nanoTime();
            call.run();
            times[i] = (System.nanoTime() - start) / 1e6;
        }
        java.util.Arrays.sort(times);
        return times[times.length / 2];
    }

    private static void timing() {
        int w = 1024, h = 1024;
        int[] pixels = new Random(1).ints(w * h).toArray();
        ByteBuffer floats = direct(w * h * 12);
        ByteBuffer q = direct(w * h * 3);
        System.out.printf("1024x1024 median of 7: argbToFloat %.2f ms, floatToArgb %.2f ms, "
                          + "argbToQuantized %.2f ms, quantizedToArgb %.2f ms%n",
                          medianMs(() -> PixelConverter.argbToFloat(pixels, w, h, floats)),
                          medianMs(() -> PixelConverter.floatToArgb(floats, w, h, pixels)),
                          medianMs(() -> PixelConverter.argbToQuantized(pixels, w, h, q, 1f / 255f, -128, true)),
                          medianMs(() -> PixelConverter.quantizedToArgb(q, w, h, pixels, 1f / 255f, -128, true)));
    }
}
