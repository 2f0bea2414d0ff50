package com.cinstyle.demo;

import android.content.ContentValues;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.graphics.ImageDecoder;
import android.net.Uri;
import android.os.Build;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.provider.MediaStore;
import android.view.View;
import android.view.ViewGroup;
import android.widget.Button;
import android.widget.ImageView;
import android.widget.SeekBar;
import android.widget.TextView;

import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.PickVisualMediaRequest;
import androidx.activity.result.contract.ActivityResultContracts;
import androidx.appcompat.app.AppCompatActivity;
import androidx.recyclerview.widget.LinearLayoutManager;
import androidx.recyclerview.widget.RecyclerView;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Pick a photo, pick a style (tap) and a second style (long press), blend them with the slider,
 * stylize on a background thread with the int8 model, save the result to Pictures.
 */
public class MainActivity extends AppCompatActivity {
    private static final String MODEL_ASSET = "cin_style_int8.tflite";
    private static final int MAX_SIDE = 1024;

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final Handler main = new Handler(Looper.getMainLooper());
    private StyleModel model;
    private Bitmap photo;
    private Bitmap result;
    private int styleA = 0;
    private int styleB = 0;
    private ImageView imageView;
    private TextView status;
    private SeekBar blend;

    private final ActivityResultLauncher<PickVisualMediaRequest> picker =
            registerForActivityResult(new ActivityResultContracts.PickVisualMedia(), this::onPhotoPicked);

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        imageView = findViewById(R.id.image);
        status = findViewById(R.id.status);
        blend = findViewById(R.id.blend);
        TextView blendLabel = findViewById(R.id.blend_label);
        blend.setOnSeekBarChangeListener(new SeekBar.OnSeekBarChangeListener() {
            @Override public void onProgressChanged(SeekBar bar, int value, boolean fromUser) {
                blendLabel.setText(getString(R.string.blend_label, value));
            }
            @Override public void onStartTrackingTouch(SeekBar bar) {}
            @Override public void onStopTrackingTouch(SeekBar bar) { stylize(); }
        });
        blendLabel.setText(getString(R.string.blend_label, 0));
        ((Button) findViewById(R.id.pick)).setOnClickListener(v -> picker.launch(
                new PickVisualMediaRequest.Builder()
                        .setMediaType(ActivityResultContracts.PickVisualMedia.ImageOnly.INSTANCE).build()));
        ((Button) findViewById(R.id.stylize)).setOnClickListener(v -> stylize());
        ((Button) findViewById(R.id.save)).setOnClickListener(v -> save());

        worker.execute(() -> {  // loading maps the model and builds the interpreter: not on the main thread
            try {
                StyleModel loaded = new StyleModel(getAssets(), MODEL_ASSET, 4);
                main.post(() -> onModelLoaded(loaded));
            } catch (Exception e) {
                main.post(() -> status.setText(getString(R.string.failed, e.getMessage())));
            }
        });
    }

    private void onModelLoaded(StyleModel loaded) {
        if (isDestroyed()) {
            loaded.close();
            return;
        }
        model = loaded;
        RecyclerView list = findViewById(R.id.styles);
        list.setLayoutManager(new LinearLayoutManager(this, LinearLayoutManager.HORIZONTAL, false));
        list.setAdapter(new StyleAdapter());
        status.setText(model.styles().get(styleA).title);
    }

    private void onPhotoPicked(Uri uri) {
        if (uri == null) return;
        try {
            photo = decodeScaled(uri);
            imageView.setImageBitmap(photo);
        } catch (IOException e) {
            status.setText(getString(R.string.failed, e.getMessage()));
        }
    }

    private Bitmap decodeScaled(Uri uri) throws IOException {
        Bitmap bitmap;
        if (Build.VERSION.SDK_INT >= 28) {
            bitmap = ImageDecoder.decodeBitmap(ImageDecoder.createSource(getContentResolver(), uri),
                    (decoder, info, source) -> {
                        decoder.setAllocator(ImageDecoder.ALLOCATOR_SOFTWARE);
                        int side = Math.max(info.getSize().getWidth(), info.getSize().getHeight());
                        if (side > MAX_SIDE) {
                            float s = (float) MAX_SIDE / side;
                            decoder.setTargetSize(Math.round(info.getSize().getWidth() * s),
                                                  Math.round(info.getSize().getHeight() * s));
                        }
                    });
        } else {
            try (InputStream in = getContentResolver().openInputStream(uri)) {
                bitmap = BitmapFactory.decodeStream(in);
            }
            if (bitmap == null) throw new IOException("not an image");
            int side = Math.max(bitmap.getWidth(), bitmap.getHeight());
            if (side > MAX_SIDE) {
                float s = (float) MAX_SIDE / side;
                bitmap = Bitmap.createScaledBitmap(bitmap, Math.round(bitmap.getWidth() * s),
                                                   Math.round(bitmap.getHeight() * s), true);
            }
        }
        return bitmap.copy(Bitmap.Config.ARGB_8888, false);
    }

    private void stylize() {
        if (model == null || photo == null) return;
        final Bitmap input = photo;
        final int a = styleA, b = styleB;
        final float t = blend.getProgress() / 100f;
        status.setText(R.string.working);
        worker.execute(() -> {
            try {
                long start = System.nanoTime();
                Bitmap out = model.stylize(input, a, b, t);
                long ms = (System.nanoTime() - start) / 1_000_000;
                main.post(() -> {
                    result = out;
                    imageView.setImageBitmap(out);
                    status.setText(model.styles().get(a).title + " / " + model.styles().get(b).title + ": " + ms + " ms");
                });
            } catch (RuntimeException e) {
                main.post(() -> status.setText(getString(R.string.failed, e.getMessage())));
            }
        });
    }

    private void save() {
        if (result == null) return;
        ContentValues values = new ContentValues();
        values.put(MediaStore.Images.Media.DISPLAY_NAME, "cin-style-" + System.currentTimeMillis() + ".jpg");
        values.put(MediaStore.Images.Media.MIME_TYPE, "image/jpeg");
        Uri uri = getContentResolver().insert(MediaStore.Images.Media.EXTERNAL_CONTENT_URI, values);
        if (uri == null) {
            status.setText(getString(R.string.failed, "no media store"));
            return;
        }
        try (OutputStream out = getContentResolver().openOutputStream(uri)) {
            result.compress(Bitmap.CompressFormat.JPEG, 95, out);
            status.setText(R.string.saved);
        } catch (IOException e) {
            getContentResolver().delete(uri, null, null);  // leave no half-written file behind
            status.setText(getString(R.string.failed, e.getMessage()));
        }
    }

    @Override
    protected void onDestroy() {
        super.onDestroy();
        final StyleModel toClose = model;
        model = null;
        // The single worker thread runs this after any stylize in flight, then stops.
        worker.execute(() -> {
            if (toClose != null) toClose.close();
        });
        worker.shutdown();
    }

    /** Style thumbnails from assets/thumbnails: tap = first style, long press = second style. */
    private final class StyleAdapter extends RecyclerView.Adapter<RecyclerView.ViewHolder> {
        @Override
        public RecyclerView.ViewHolder onCreateViewHolder(ViewGroup parent, int viewType) {
            ImageView view = new ImageView(parent.getContext());
            int size = (int) (88 * getResources().getDisplayMetrics().density);
            view.setLayoutParams(new ViewGroup.MarginLayoutParams(size, size));
            view.setScaleType(ImageView.ScaleType.CENTER_CROP);
            view.setPadding(4, 4, 4, 4);
            return new RecyclerView.ViewHolder(view) {};
        }

        @Override
        public void onBindViewHolder(RecyclerView.ViewHolder holder, int position) {
            StyleModel.Style style = model.styles().get(position);
            ImageView view = (ImageView) holder.itemView;
            try (InputStream in = getAssets().open(style.thumbnail)) {
                view.setImageBitmap(BitmapFactory.decodeStream(in));
            } catch (IOException e) {
                view.setImageBitmap(null);
            }
            view.setContentDescription(style.title);
            view.setOnClickListener(v -> { styleA = style.index; status.setText(style.title); stylize(); });
            view.setOnLongClickListener(v -> { styleB = style.index; stylize(); return true; });
        }

        @Override
        public int getItemCount() { return model.styles().size(); }
    }
}
