package android.graphics;

public final class ImageDecoder implements AutoCloseable {
    public static final int ALLOCATOR_SOFTWARE = 1;
    public abstract static class Source {}
    public static class ImageInfo {
        public android.util.Size getSize() { throw new RuntimeException("stub"); }
    }
    public interface OnHeaderDecodedListener {
        void onHeaderDecoded(ImageDecoder decoder, ImageInfo info, Source source);
    }
    public static Source createSource(android.content.ContentResolver cr, android.net.Uri uri) { throw new RuntimeException("stub"); }
    public static Bitmap decodeBitmap(Source src, OnHeaderDecodedListener listener) throws java.io.IOException { throw new RuntimeException("stub"); }
    public void setAllocator(int allocator) { throw new RuntimeException("stub"); }
    public void setTargetSize(int width, int height) { throw new RuntimeException("stub"); }
    @Override public void close() { throw new RuntimeException("stub"); }
}
