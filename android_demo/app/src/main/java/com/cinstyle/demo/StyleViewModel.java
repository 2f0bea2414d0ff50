package com.cinstyle.demo;

import android.app.Application;
import android.content.ContentResolver;
import android.content.ContentValues;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.graphics.ImageDecoder;
import android.graphics.Matrix;
import android.net.Uri;
import android.os.Build;
import android.os.Environment;
import android.provider.MediaStore;

import androidx.annotation.NonNull;
import androidx.exifinterface.media.ExifInterface;
import androidx.lifecycle.AndroidViewModel;
import androidx.lifecycle.LiveData;
import androidx.lifecycle.MutableLiveData;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Everything that must outlive a rotation: the model, the photo, the result and the one worker
 * thread that loads, decodes, stylizes and saves. The activity only observes {@link #state()};
 * LiveData delivers to a started activity only, so a result that arrives during a rotation or after
 * Back goes to the new activity or nowhere, never to a destroyed one.
 *
 * <p>Stylize requests coalesce: while one runs, a newer request replaces any waiting one, so a
 * burst of taps or slider moves runs at most one more stylization, with the latest settings.
 */
public final class StyleViewModel extends AndroidViewModel {
    static final String MODEL_ASSET = "cin_style_int8.tflite";
    private static final int MAX_SIDE = 1024;
    private static final int JPEG_QUALITY = 95;

    /** What the screen shows; a new object for every change (LiveData shares it across threads). */
    public static final class State {
        public final StyleModel model;  // null until loaded
        public final boolean onGpu;
        public final Bitmap photo;
        public final Bitmap result;
        public final String message;
        public final boolean working;

        State(StyleModel model, boolean onGpu, Bitmap photo, Bitmap result, String message, boolean working) {
            this.model = model;
            this.onGpu = onGpu;
            this.photo = photo;
            this.result = result;
            this.message = message;
            this.working = working;
        }
    }

    /** One stylization's settings. */
    private static final class Request {
        final Bitmap photo;
        final int styleA;
        final int styleB;
        final float blend;

        Request(Bitmap photo, int styleA, int styleB, float blend) {
            this.photo = photo;
            this.styleA = styleA;
            this.styleB = styleB;
            this.blend = blend;
        }
    }

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final MutableLiveData<State> state = new MutableLiveData<>();
    private final LatestRequest<Request> requests = new LatestRequest<>(worker, this::run);
    // Written on the worker thread only; read by publish() and stylize() on either thread.
    private volatile StyleModel model;
    private volatile boolean onGpu;
    private volatile Bitmap photo;
    private volatile Bitmap result;
    private boolean gpuRequested;  // main thread only

    public StyleViewModel(@NonNull Application application) {
        super(application);
        state.setValue(new State(null, false, null, null, application.getString(R.string.loading), true));
        worker.execute(() -> loadModel(false));
    }

    public LiveData<State> state() {
        return state;
    }

    /**
     * Reloads the model on the GPU delegate or the CPU; the GPU falls back to the CPU where unsupported.
     * Asking again for what was asked last does nothing (a rotation restores the switch and calls this).
     */
    public void useGpu(boolean gpu) {
        if (gpu == gpuRequested) return;
        gpuRequested = gpu;
        publish(getApplication().getString(R.string.loading), true);
        worker.execute(() -> loadModel(gpu));
    }

    private void loadModel(boolean gpu) {
        StyleModel old = model;
        model = null;
        if (old != null) old.close();
        String message;
        try {
            StyleModel.Loaded loaded = StyleModel.load(getApplication().getAssets(), MODEL_ASSET,
                                                       Runtime.getRuntime().availableProcessors(), gpu);
            model = loaded.model;
            onGpu = loaded.onGpu;
            message = loaded.note != null ? loaded.note
                    : getApplication().getString(onGpu ? R.string.ready_gpu : R.string.ready_cpu);
        } catch (IOException | RuntimeException e) {
            message = getApplication().getString(R.string.failed, e.getMessage());
        }
        publish(message, false);
    }

    /** Decodes the photo (EXIF orientation applied, long side at most 1024) off the main thread. */
    public void loadPhoto(Uri uri) {
        worker.execute(() -> {
            try {
                photo = decodeScaled(getApplication().getContentResolver(), uri);
                result = null;
                publish(null, false);
            } catch (IOException | RuntimeException | OutOfMemoryError e) {
                publish(getApplication().getString(R.string.failed, e.getMessage()), false);
            }
        });
    }

    /** Stylizes the current photo with (1 - blend) * styleA + blend * styleB; see the class comment. */
    public void stylize(int styleA, int styleB, float blend) {
        Bitmap current = photo;
        if (current == null) return;
        publish(getApplication().getString(R.string.working), true);
        requests.submit(new Request(current, styleA, styleB, blend));
    }

    private void run(Request request) {  // on the worker thread
        StyleModel current = model;
        if (current == null) return;  // failed to load: the message says so
        try {
            long start = System.nanoTime();
            Bitmap out = current.stylize(request.photo, request.styleA, request.styleB, request.blend);
            long ms = (System.nanoTime() - start) / 1_000_000;
            result = out;
            String a = current.styles().get(request.styleA).title;
            String b = current.styles().get(request.styleB).title;
            publish(getApplication().getString(R.string.done, a, b, (int) ms), requests.hasWaiting());
        } catch (RuntimeException | OutOfMemoryError e) {
            publish(getApplication().getString(R.string.failed, e.getMessage()), requests.hasWaiting());
        }
    }

    /** Saves the result as a JPEG in Pictures/cin-style (off the main thread). Below Android 10 the
     * caller holds WRITE_EXTERNAL_STORAGE. A failed save leaves no half-written entry. */
    public void save() {
        worker.execute(() -> {
            Bitmap toSave = result;
            if (toSave == null) return;
            ContentResolver resolver = getApplication().getContentResolver();
            ContentValues values = new ContentValues();
            values.put(MediaStore.MediaColumns.DISPLAY_NAME, "cin-style-" + System.currentTimeMillis() + ".jpg");
            values.put(MediaStore.MediaColumns.MIME_TYPE, "image/jpeg");
            if (Build.VERSION.SDK_INT >= 29) {
                values.put(MediaStore.MediaColumns.RELATIVE_PATH, Environment.DIRECTORY_PICTURES + "/cin-style");
                values.put(MediaStore.MediaColumns.IS_PENDING, 1);
            }
            Uri uri = null;
            try {
                uri = resolver.insert(MediaStore.Images.Media.EXTERNAL_CONTENT_URI, values);
                if (uri == null) throw new IOException("the media store refused the new picture");
                try (OutputStream out = resolver.openOutputStream(uri)) {
                    if (out == null || !toSave.compress(Bitmap.CompressFormat.JPEG, JPEG_QUALITY, out)) {
                        throw new IOException("could not write the picture");
                    }
                }
                if (Build.VERSION.SDK_INT >= 29) {
                    ContentValues done = new ContentValues();
                    done.put(MediaStore.MediaColumns.IS_PENDING, 0);
                    resolver.update(uri, done, null, null);
                }
                publish(getApplication().getString(R.string.saved), false);
            } catch (IOException | RuntimeException e) {  // SecurityException without the permission
                if (uri != null) resolver.delete(uri, null, null);
                publish(getApplication().getString(R.string.failed, e.getMessage()), false);
            }
        });
    }

    private void publish(String message, boolean working) {
        String shown = message;
        State previous = state.getValue();
        if (shown == null) shown = previous == null ? "" : previous.message;
        state.postValue(new State(model, onGpu, photo, result, shown, working));
    }

    @Override
    protected void onCleared() {
        // The worker closes the model after any stylization in flight, then stops.
        worker.execute(() -> {
            if (model != null) model.close();
            model = null;
        });
        worker.shutdown();
    }

    static Bitmap decodeScaled(ContentResolver resolver, Uri uri) throws IOException {
        if (Build.VERSION.SDK_INT >= 28) {  // ImageDecoder applies the EXIF orientation itself
            return ImageDecoder.decodeBitmap(ImageDecoder.createSource(resolver, uri), (decoder, info, source) -> {
                decoder.setAllocator(ImageDecoder.ALLOCATOR_SOFTWARE);
                int side = Math.max(info.getSize().getWidth(), info.getSize().getHeight());
                if (side > MAX_SIDE) {
                    float s = (float) MAX_SIDE / side;
                    decoder.setTargetSize(Math.max(1, Math.round(info.getSize().getWidth() * s)),
                                          Math.max(1, Math.round(info.getSize().getHeight() * s)));
                }
            });
        }
        BitmapFactory.Options bounds = new BitmapFactory.Options();
        bounds.inJustDecodeBounds = true;
        try (InputStream in = resolver.openInputStream(uri)) {
            BitmapFactory.decodeStream(in, null, bounds);
        }
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) throw new IOException("not an image");
        BitmapFactory.Options options = new BitmapFactory.Options();
        options.inSampleSize = 1;  // decode at most twice the target size, never the full 12 MP
        while (Math.max(bounds.outWidth, bounds.outHeight) / (options.inSampleSize * 2) >= MAX_SIDE) {
            options.inSampleSize *= 2;
        }
        options.inPreferredConfig = Bitmap.Config.ARGB_8888;
        Bitmap bitmap;
        try (InputStream in = resolver.openInputStream(uri)) {
            bitmap = BitmapFactory.decodeStream(in, null, options);
        }
        if (bitmap == null) throw new IOException("not an image");
        int orientation;
        try (InputStream in = resolver.openInputStream(uri)) {
            orientation = in == null ? ExifInterface.ORIENTATION_NORMAL
                    : new ExifInterface(in).getAttributeInt(ExifInterface.TAG_ORIENTATION,
                                                           ExifInterface.ORIENTATION_NORMAL);
        }
        Matrix matrix = new Matrix();
        int side = Math.max(bitmap.getWidth(), bitmap.getHeight());
        float scale = side > MAX_SIDE ? (float) MAX_SIDE / side : 1f;
        matrix.postScale(scale, scale);
        switch (orientation) {
            case ExifInterface.ORIENTATION_ROTATE_90: matrix.postRotate(90); break;
            case ExifInterface.ORIENTATION_ROTATE_180: matrix.postRotate(180); break;
            case ExifInterface.ORIENTATION_ROTATE_270: matrix.postRotate(270); break;
            case ExifInterface.ORIENTATION_FLIP_HORIZONTAL: matrix.postScale(-1, 1); break;
            case ExifInterface.ORIENTATION_FLIP_VERTICAL: matrix.postScale(1, -1); break;
            case ExifInterface.ORIENTATION_TRANSPOSE: matrix.postRotate(90); matrix.postScale(-1, 1); break;
            case ExifInterface.ORIENTATION_TRANSVERSE: matrix.postRotate(270); matrix.postScale(-1, 1); break;
            default: break;
        }
        Bitmap oriented = Bitmap.createBitmap(bitmap, 0, 0, bitmap.getWidth(), bitmap.getHeight(), matrix, true);
        return oriented.getConfig() == Bitmap.Config.ARGB_8888 ? oriented
                : oriented.copy(Bitmap.Config.ARGB_8888, false);
    }
}
