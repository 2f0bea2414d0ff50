package org.tensorflow.lite.gpu;

public class CompatibilityList {
    public CompatibilityList() { throw new RuntimeException("stub"); }
    public boolean isDelegateSupportedOnThisDevice() { throw new RuntimeException("stub"); }
    public void close() { throw new RuntimeException("stub"); }
}
