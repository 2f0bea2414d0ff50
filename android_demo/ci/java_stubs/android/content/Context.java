package android.content;

public abstract class Context {
    public abstract android.content.res.AssetManager getAssets();
    public abstract android.content.res.Resources getResources();
    public abstract ContentResolver getContentResolver();
    public abstract java.io.File getCacheDir();
    public abstract String getPackageName();
    public final String getString(int resId) { throw new RuntimeException("stub"); }
    public final String getString(int resId, Object... formatArgs) { throw new RuntimeException("stub"); }
}
