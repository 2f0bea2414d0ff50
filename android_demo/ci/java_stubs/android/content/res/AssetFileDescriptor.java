package android.content.res;

public class AssetFileDescriptor implements java.io.Closeable {
    public java.io.FileDescriptor getFileDescriptor() { throw new RuntimeException("stub"); }
    public long getStartOffset() { throw new RuntimeException("stub"); }
    public long getDeclaredLength() { throw new RuntimeException("stub"); }
    @Override public void close() throws java.io.IOException { throw new RuntimeException("stub"); }
}
