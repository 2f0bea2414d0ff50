package org.tensorflow.lite.gpu;

public class GpuDelegate implements org.tensorflow.lite.Delegate, java.io.Closeable {
    public GpuDelegate() { throw new RuntimeException("stub"); }
    @Override public long getNativeHandle() { throw new RuntimeException("stub"); }
    @Override public void close() { throw new RuntimeException("stub"); }
}
