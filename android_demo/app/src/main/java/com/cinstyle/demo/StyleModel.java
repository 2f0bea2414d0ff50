package com.cinstyle.demo;

import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;
import android.graphics.Bitmap;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.gpu.CompatibilityList;
import org.tensorflow.lite.gpu.GpuDelegate;

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

    /** A model and where it runs; {@code note} says why the GPU was not used where it was asked for. */
    public static final class Loaded {
        public final StyleModel model;
        public final boolean onGpu;
        public final String note;

        Loaded(StyleModel model, boolean onGpu, String note) {
            this.model = model;
            this.onGpu = onGpu;
            this.note = note;
        }
    }

    private final Interpreter interpreter;
    private final GpuDelegate gpu;  // null on the CPU
    private List<Style> styles;
    private TensorSpec image;
    private TensorSpec styleWeights;
    private TensorSpec stylized;
    private String signature;
    /** Image H and W must be multiples of this (older exports: 1, any size). */
    private int sizeMultiple;
    /** Mirrored pixels around the photo, cropped after the model (older exports: 0). */
    private int borderMargin;

    // Buffers of the last image size, reused while the size stays (1024 px: about 36 MB in all).
    private int bufferWidth = -1;
    private int bufferHeight = -1;
    private int[] pixels;
    private int[] padded;
    private ByteBuffer input;
    private ByteBuffer output;

    /**
     * Loads the model on the CPU (XNNPACK, {@code threads} threads), or on the GPU delegate when
     * {@code useGpu} and the device supports it; a GPU that cannot run the model falls back to the CPU.
     */
    public static Loaded load(AssetManager assets, String modelAsset, int threads, boolean useGpu) throws IOException {
        if (useGpu) {
            CompatibilityList compatibility = new CompatibilityList();
            try {
                if (!compatibility.isDelegateSupportedOnThisDevice()) {
                    return new Loaded(new StyleModel(assets, modelAsset, threads, null), false,
                                      "this device's GPU is not supported by LiteRT: running on the CPU");
                }
            } finally {
                compatibility.close();
            }
            GpuDelegate delegate = new GpuDelegate();
            try {
                return new Loaded(new StyleModel(assets, modelAsset, threads, delegate), true, null);
            } catch (RuntimeException e) {  // the delegate refused the graph
                delegate.close();
                return new Loaded(new StyleModel(assets, modelAsset, threads, null), false,
                                  "the GPU could not run the model (" + e.getMessage() + "): running on the CPU");
            }
        }
        return new Loaded(new StyleModel(assets, modelAsset, threads, null), false, null);
    }

    private StyleModel(AssetManager assets, String modelAsset, int threads, GpuDelegate gpu) throws IOException {
        JSONObject meta;
        try {
            meta = new JSONObject(readAsset(assets, modelAsset + ".json"));
            parseMetadata(meta);
        } catch (JSONException e) {
            throw new IOException(modelAsset + ".json: " + e.getMessage(), e);
        }
        Interpreter.Options options = new Interpreter.Options().setNumThreads(threads);
        if (gpu != null) options.addDelegate(gpu);
        this.gpu = gpu;
        interpreter = new Interpreter(mapAsset(assets, modelAsset), options);
    }

    private void parseMetadata(JSONObject meta) throws JSONException {
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
        // Mirror border_margin pixels around the photo (the model's edge band falls outside the crop),
        // then the bottom and right up to multiples of size_multiple; crop the result.
        int marginX = Math.min(borderMargin, width - 1);
        int marginY = Math.min(borderMargin, height - 1);
        int paddedWidth = roundUp(width + 2 * marginX, sizeMultiple);
        int paddedHeight = roundUp(height + 2 * marginY, sizeMultiple);
        boolean resized = prepareBuffers(width, height, paddedWidth, paddedHeight);
        bitmap.getPixels(pixels, 0, width, 0, 0, width, height);
        PixelConverter.mirrorPad(pixels, width, height, marginX, marginY, padded, paddedWidth, paddedHeight);

        input.clear();
        if (image.isFloat()) {
            PixelConverter.argbToFloat(padded, paddedWidth, paddedHeight, input);
        } else {
            PixelConverter.argbToQuantized(padded, paddedWidth, paddedHeight, input, image.scale, image.zeroPoint,
                                           image.isSigned());
        }
        float[] weights = new float[styles.size()];
        weights[styleA] += 1f - t;
        weights[styleB] += t;
        Object weightInput = styleWeightsInput(weights);

        output.clear();
        Map<String, Object> inputs = new HashMap<>();
        inputs.put("image", input);
        inputs.put("style_weights", weightInput);
        Map<String, Object> outputs = new HashMap<>();
        outputs.put("stylized", output);
        if (resized) {  // LiteRT prepares the graph again only when the size changes
            interpreter.resizeInput(interpreter.getInputIndex(image.tensorName),
                                    new int[] {1, paddedHeight, paddedWidth, 3});
            interpreter.allocateTensors();
        }
        interpreter.runSignature(inputs, outputs, signature);

        output.rewind();
        if (stylized.isFloat()) {
            PixelConverter.floatToArgb(output, paddedWidth, paddedHeight, padded);
        } else {
            PixelConverter.quantizedToArgb(output, paddedWidth, paddedHeight, padded, stylized.scale,
                                           stylized.zeroPoint, stylized.isSigned());
        }
        Bitmap result = Bitmap.createBitmap(width, height, Bitmap.Config.ARGB_8888);
        // offset and stride paddedWidth: the crop
        result.setPixels(padded, marginY * paddedWidth + marginX, paddedWidth, 0, 0, width, height);
        return result;
    }

    /**
     * Sizes the reused buffers for this image; true when the size changed (the interpreter must resize).
     * The direct buffers are allocated at exactly the tensors' sizes: LiteRT compares a buffer's
     * capacity, not its limit, with the tensor.
     */
    private boolean prepareBuffers(int width, int height, int paddedWidth, int paddedHeight) {
        if (width == bufferWidth && height == bufferHeight) return false;
        int count = paddedWidth * paddedHeight;
        pixels = new int[width * height];
        padded = new int[count];
        input = ByteBuffer.allocateDirect(count * 3 * image.bytesPerValue()).order(ByteOrder.nativeOrder());
        output = ByteBuffer.allocateDirect(count * 3 * stylized.bytesPerValue()).order(ByteOrder.nativeOrder());
        bufferWidth = width;
        bufferHeight = height;
        return true;
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
        if (gpu != null) gpu.close();
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
