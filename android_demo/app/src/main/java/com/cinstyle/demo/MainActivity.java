package com.cinstyle.demo;

import android.Manifest;
import android.content.pm.PackageManager;
import android.graphics.BitmapFactory;
import android.net.Uri;
import android.os.Build;
import android.os.Bundle;
import android.view.ViewGroup;
import android.widget.Button;
import android.widget.CompoundButton;
import android.widget.ImageView;
import android.widget.SeekBar;
import android.widget.TextView;

import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.PickVisualMediaRequest;
import androidx.activity.result.contract.ActivityResultContracts;
import androidx.annotation.NonNull;
import androidx.appcompat.app.AppCompatActivity;
import androidx.core.content.ContextCompat;
import androidx.core.content.FileProvider;
import androidx.lifecycle.ViewModelProvider;
import androidx.recyclerview.widget.LinearLayoutManager;
import androidx.recyclerview.widget.RecyclerView;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;

/**
 * Pick a photo from the gallery or take one with the camera, pick a style (tap) and a second style
 * (long press), blend them with the slider, stylize on the CPU or the GPU, save the result to
 * Pictures. All state and work live in {@link StyleViewModel}: rotation keeps the photo, the result
 * and the loaded model; the activity only draws what the view model publishes.
 */
public class MainActivity extends AppCompatActivity {
    private static final String KEY_STYLE_A = "style_a";
    private static final String KEY_STYLE_B = "style_b";
    private static final String KEY_CAMERA_URI = "camera_uri";

    private StyleViewModel viewModel;
    private int styleA = 0;
    private int styleB = 0;
    private Uri cameraUri;
    private ImageView imageView;
    private TextView status;
    private SeekBar blend;
    private RecyclerView styleList;
    private StyleModel shownModel;

    private final ActivityResultLauncher<PickVisualMediaRequest> picker =
            registerForActivityResult(new ActivityResultContracts.PickVisualMedia(), uri -> {
                if (uri != null) viewModel.loadPhoto(uri);
            });
    private final ActivityResultLauncher<Uri> camera =
            registerForActivityResult(new ActivityResultContracts.TakePicture(), taken -> {
                if (Boolean.TRUE.equals(taken) && cameraUri != null) viewModel.loadPhoto(cameraUri);
            });
    private final ActivityResultLauncher<String> storagePermission =
            registerForActivityResult(new ActivityResultContracts.RequestPermission(), granted -> {
                if (Boolean.TRUE.equals(granted)) {
                    viewModel.save();
                } else {
                    status.setText(getString(R.string.failed, getString(R.string.no_storage_permission)));
                }
            });

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        if (savedInstanceState != null) {
            styleA = savedInstanceState.getInt(KEY_STYLE_A, 0);
            styleB = savedInstanceState.getInt(KEY_STYLE_B, 0);
            String uri = savedInstanceState.getString(KEY_CAMERA_URI);
            cameraUri = uri == null ? null : Uri.parse(uri);
        }
        viewModel = new ViewModelProvider(this).get(StyleViewModel.class);
        imageView = findViewById(R.id.image);
        status = findViewById(R.id.status);
        blend = findViewById(R.id.blend);
        styleList = findViewById(R.id.styles);
        styleList.setLayoutManager(new LinearLayoutManager(this, LinearLayoutManager.HORIZONTAL, false));
        TextView blendLabel = findViewById(R.id.blend_label);
        blend.setOnSeekBarChangeListener(new SeekBar.OnSeekBarChangeListener() {
            @Override public void onProgressChanged(SeekBar bar, int value, boolean fromUser) {
                blendLabel.setText(getString(R.string.blend_label, value));
            }
            @Override public void onStartTrackingTouch(SeekBar bar) {}
            @Override public void onStopTrackingTouch(SeekBar bar) { stylize(); }
        });
        blendLabel.setText(getString(R.string.blend_label, blend.getProgress()));
        ((Button) findViewById(R.id.pick)).setOnClickListener(v -> picker.launch(
                new PickVisualMediaRequest.Builder()
                        .setMediaType(ActivityResultContracts.PickVisualMedia.ImageOnly.INSTANCE).build()));
        ((Button) findViewById(R.id.camera)).setOnClickListener(v -> takePhoto());
        ((Button) findViewById(R.id.stylize)).setOnClickListener(v -> stylize());
        ((Button) findViewById(R.id.save)).setOnClickListener(v -> save());
        ((CompoundButton) findViewById(R.id.gpu)).setOnCheckedChangeListener(
                (button, checked) -> viewModel.useGpu(checked));
        viewModel.state().observe(this, this::render);
    }

    @Override
    protected void onSaveInstanceState(@NonNull Bundle outState) {
        super.onSaveInstanceState(outState);
        outState.putInt(KEY_STYLE_A, styleA);
        outState.putInt(KEY_STYLE_B, styleB);
        if (cameraUri != null) outState.putString(KEY_CAMERA_URI, cameraUri.toString());
    }

    private void render(StyleViewModel.State state) {
        if (state.model != shownModel) {
            shownModel = state.model;
            styleList.setAdapter(shownModel == null ? null : new StyleAdapter(shownModel));
        }
        imageView.setImageBitmap(state.result != null ? state.result : state.photo);
        status.setText(state.message);
    }

    private void stylize() {
        viewModel.stylize(styleA, styleB, blend.getProgress() / 100f);
    }

    private void takePhoto() {
        File folder = new File(getCacheDir(), "camera");
        if (!folder.isDirectory() && !folder.mkdirs()) {
            status.setText(getString(R.string.failed, "no room for the camera's photo"));
            return;
        }
        File file = new File(folder, "photo.jpg");
        cameraUri = FileProvider.getUriForFile(this, getPackageName() + ".files", file);
        camera.launch(cameraUri);
    }

    private void save() {
        // Android 9 and older write to shared storage only with this permission (maxSdkVersion 28 in the manifest).
        if (Build.VERSION.SDK_INT < 29 && ContextCompat.checkSelfPermission(
                this, Manifest.permission.WRITE_EXTERNAL_STORAGE) != PackageManager.PERMISSION_GRANTED) {
            storagePermission.launch(Manifest.permission.WRITE_EXTERNAL_STORAGE);
            return;
        }
        viewModel.save();
    }

    /** Style thumbnails from assets/thumbnails: tap = first style, long press = second style. */
    private final class StyleAdapter extends RecyclerView.Adapter<RecyclerView.ViewHolder> {
        private final StyleModel model;

        StyleAdapter(StyleModel model) {
            this.model = model;
        }

        @NonNull
        @Override
        public RecyclerView.ViewHolder onCreateViewHolder(@NonNull ViewGroup parent, int viewType) {
            ImageView view = new ImageView(parent.getContext());
            int size = (int) (88 * getResources().getDisplayMetrics().density);
            view.setLayoutParams(new ViewGroup.MarginLayoutParams(size, size));
            view.setScaleType(ImageView.ScaleType.CENTER_CROP);
            view.setPadding(4, 4, 4, 4);
            return new RecyclerView.ViewHolder(view) {};
        }

        @Override
        public void onBindViewHolder(@NonNull RecyclerView.ViewHolder holder, int position) {
            StyleModel.Style style = model.styles().get(position);
            ImageView view = (ImageView) holder.itemView;
            try (InputStream in = getAssets().open(style.thumbnail)) {
                view.setImageBitmap(BitmapFactory.decodeStream(in));
            } catch (IOException e) {
                view.setImageBitmap(null);
            }
            view.setContentDescription(style.title);
            view.setOnClickListener(v -> { styleA = style.index; stylize(); });
            view.setOnLongClickListener(v -> { styleB = style.index; stylize(); return true; });
        }

        @Override
        public int getItemCount() { return model.styles().size(); }
    }
}
