package android.content;

public class ContextWrapper extends Context {
    public ContextWrapper(Context base) { throw new RuntimeException("stub"); }
    @Override public android.content.res.AssetManager getAssets() { throw new RuntimeException("stub"); }
    @Override public android.content.res.Resources getResources() { throw new RuntimeException("stub"); }
    @Override public ContentResolver getContentResolver() { throw new RuntimeException("stub"); }
    @Override public java.io.File getCacheDir() { throw new RuntimeException("stub"); }
    @Override public String getPackageName() { throw new RuntimeException("stub"); }
}
