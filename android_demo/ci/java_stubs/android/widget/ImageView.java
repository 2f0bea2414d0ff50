package android.widget;

public class ImageView extends android.view.View {
    public enum ScaleType { MATRIX, FIT_XY, FIT_START, FIT_CENTER, FIT_END, CENTER, CENTER_CROP, CENTER_INSIDE }
    public ImageView(android.content.Context context) { super(context); }
    public void setImageBitmap(android.graphics.Bitmap bm) { throw new RuntimeException("stub"); }
    public void setScaleType(ScaleType scaleType) { throw new RuntimeException("stub"); }
}
