package android.graphics;

public class BitmapFactory {
    public static class Options {
        public Options() { throw new RuntimeException("stub"); }
        public boolean inJustDecodeBounds;
        public int inSampleSize;
        public Bitmap.Config inPreferredConfig;
        public int outWidth;
        public int outHeight;
    }
    public static Bitmap decodeStream(java.io.InputStream is) { throw new RuntimeException("stub"); }
    public static Bitmap decodeStream(java.io.InputStream is, Rect outPadding, Options opts) { throw new RuntimeException("stub"); }
}
