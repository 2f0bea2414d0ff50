package com.cinstyle.demo;

import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;
import android.graphics.Bitmap;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;
import org.tensorflow.lite.Interpreter;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The exported cin-style model: memory-mapped .tflite plus its metadata JSON (styles, tensor
 * types, quantization). Nothing about the model is hard-coded: names, dtypes, scales and zero
 * points all come from the metadata written by `cin-style export`.
 */
public final class StyleModel implements Closeable {
    /** One entry of the metadata's style list. */
    public static final class Style {
        public final int index;
        public final String name;
        public final String title;
        public final String thumbnail;

        Style(int index, String name, String title, String thumbnail) {
            this.index = index;
            this.name = name;
            this.title = title;
            this.thumbnail = thumbnail;
        }
    }

    /** dtype, scale and zero point of one model input or output. */
    private static final class TensorSpec {
        final String tensorName;
        final String dtype;
        final float scale;
        final int zeroPoint;

        TensorSpec(JSONObject spec) throws JSONException {
            tensorName = spec.getString("tensor_name");
            dtype = spec.getString("dtype");
            JSONObject q = spec.getJSONObject("quantization");
            scale = (float) q.getDouble("scale");
            zeroPoint = q.getInt("zero_point");
        }

        boolean isFloat() { return dtype.equals("float32"); }

        boolean isSigned() { return dtype.equals("int8"); }

        int bytesPerValue() { return isFloat() ? 4 : 1; }
    }

    private final Interpreter interpreter;
    private final List<Style> styles;
    private final TensorSpec image;
    private final TensorSpec styleWeights;
    private final TensorSpec stylized;
    private final String signature;
    /** Image H and W must be multiples of this (older exports: 1, any size). */
    private final int sizeMultiple;
    /** Mirrored pixels around the photo, cropped after the model (older exports: 0). */
    private final int borderMargin;

    public StyleModel(AssetManager assets, String modelAsset, int threads) throws IOException, JSONException {
        JSONObject meta = new JSONObject(readAsset(assets, modelAsset + ".json"));
        signature = meta.getString("signature");
        sizeMultiple = meta.optInt("size_multiple", 1);
        borderMargin = meta.optInt("border_margin", 0);
        JSONObject io = meta.getJSONObject("io");
        image = new TensorSpec(io.getJSONObject("inputs").getJSONObject("image"));
        styleWeights = new TensorSpec(io.getJSONObject("inputs").getJSONObject("style_weights"));
        stylized = new TensorSpec(io.getJSONObject("outputs").getJSONObject("stylized"));
        JSONArray list = meta.getJSONArray("styles");
        List<Style> parsed = new ArrayList<>();
        for (int i = 0; i < list.length(); i++) {
            JSONObject s = list.getJSONObject(i);
            String name = s.getString("name");
            // optString returns "" for a present but empty title: fall back to the name then too.
            String title = s.optString("title", "").trim();
            parsed.add(new Style(s.getInt("index"), name, title.isEmpty() ? name : title,
                                 "thumbnails/" + name + ".jpg"));
        }
        styles = Collections.unmodifiableList(parsed);
        Interpreter.Options options = new Interpreter.Options().setNumThreads(threads);
        interpreter = new Interpreter(mapAsset(assets, modelAsset), options);
    }

    public List<Style> styles() { return styles; }

    /**
     * Stylizes {@code bitmap} with the blend (1 - t) * styleA + t * styleB. Call it off the main
     * thread: it takes from tens of milliseconds to seconds.
     */
    public Bitmap stylize(Bitmap bitmap, int styleA, int styleB, float t) {
        int width = bitmap.getWidth();
        int height = bitmap.getHeight();
        if (width < sizeMultiple || height < sizeMultiple) {
            throw new IllegalArgumentException("image is " + width + "x" + height + "; the model needs at least "
                                               + sizeMultiple + " pixels per side");
        }
        int[] pixels = new int[width * height];
        bitmap.getPixels(pixels, 0, width, 0, 0, width, height);
        // Mirror border_margin pixels around the photo (the model's edge band falls outside the crop),
        // then the bottom and right up to multiples of size_multiple; crop the result.
        int marginX = Math.min(borderMargin, width - 1);
        int marginY = Math.min(borderMargin, height - 1);
        int paddedWidth = roundUp(width + 2 * marginX, sizeMultiple);
        int paddedHeight = roundUp(height + 2 * marginY, sizeMultiple);
        if (paddedWidth != width || paddedHeight != height) {
            int[] padded = new int[paddedWidth * paddedHeight];
            PixelConverter.mirrorPad(pixels, width, height, marginX, marginY, padded, paddedWidth, paddedHeight);
            pixels = padded;
        }

        ByteBuffer input = ByteBuffer.allocateDirect(paddedWidth * paddedHeight * 3 * image.bytesPerValue())
                .order(ByteOrder.nativeOrder());
        if (image.isFloat()) {
            PixelConverter.argbToFloat(pixels, paddedWidth, paddedHeight, input);
        } else {
            PixelConverter.argbToQuantized(pixels, paddedWidth, paddedHeight, input, image.scale, image.zeroPoint,
                                           image.isSigned());
        }
        float[] weights = new float[styles.size()];
        weights[styleA] += 1f - t;
        weights[styleB] += t;
        Object weightInput = styleWeightsInput(weights);

        ByteBuffer output = ByteBuffer.allocateDirect(paddedWidth * paddedHeight * 3 * stylized.bytesPerValue())
                .order(ByteOrder.nativeOrder());
        Map<String, Object> inputs = new HashMap<>();
        inputs.put("image", input);
        inputs.put("style_weights", weightInput);
        Map<String, Object> outputs = new HashMap<>();
        outputs.put("stylized", output);
        interpreter.resizeInput(interpreter.getInputIndex(image.tensorName), new int[] {1, paddedHeight, paddedWidth, 3});
        interpreter.allocateTensors();
        interpreter.runSignature(inputs, outputs, signature);

        output.rewind();
        if (stylized.isFloat()) {
            PixelConverter.floatToArgb(output, paddedWidth, paddedHeight, pixels);
        } else {
            PixelConverter.quantizedToArgb(output, paddedWidth, paddedHeight, pixels, stylized.scale,
                                           stylized.zeroPoint, stylized.isSigned());
        }
        Bitmap result = Bitmap.createBitmap(width, height, Bitmap.Config.ARGB_8888);
        // offset and stride paddedWidth: the crop
        result.setPixels(pixels, marginY * paddedWidth + marginX, paddedWidth, 0, 0, width, height);
        return result;
    }

    private static int roundUp(int value, int multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    private Object styleWeightsInput(float[] weights) {
        float sum = 0f;
        for (float w : weights) sum += w;
        if (styleWeights.isFloat()) {
            return new float[][] {weights};
        }
        ByteBuffer q = ByteBuffer.allocateDirect(weights.length).order(ByteOrder.nativeOrder());
        for (float w : weights) {  // quantized inputs take normalized weights
            int value = Math.round((w / sum) / styleWeights.scale) + styleWeights.zeroPoint;
            value = Math.max(styleWeights.isSigned() ? -128 : 0, Math.min(styleWeights.isSigned() ? 127 : 255, value));
            q.put((byte) value);
        }
        q.rewind();
        return q;
    }

    @Override
    public void close() {
        interpreter.close();
    }

    private static MappedByteBuffer mapAsset(AssetManager assets, String name) throws IOException {
        try (AssetFileDescriptor fd = assets.openFd(name);
             FileInputStream stream = new FileInputStream(fd.getFileDescriptor());
             FileChannel channel = stream.getChannel()) {
            return channel.map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(), fd.getDeclaredLength());
        }
    }

    static String readAsset(AssetManager assets, String name) throws IOException {
        try (InputStream in = assets.open(name); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) > 0; ) out.write(buffer, 0, n);
            return out.toString(StandardCharsets.UTF_8.name());
        }
    }
}
