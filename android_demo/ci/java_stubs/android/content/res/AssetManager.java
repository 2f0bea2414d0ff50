package android.content.res;

public final class AssetManager implements AutoCloseable {
    public java.io.InputStream open(String fileName) throws java.io.IOException { throw new RuntimeException("stub"); }
    public AssetFileDescriptor openFd(String fileName) throws java.io.IOException { throw new RuntimeException("stub"); }
    @Override public void close() { throw new RuntimeException("stub"); }
}
