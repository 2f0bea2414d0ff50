package android.util;

public final class Size {
    public Size(int width, int height) { throw new RuntimeException("stub"); }
    public int getWidth() { throw new RuntimeException("stub"); }
    public int getHeight() { throw new RuntimeException("stub"); }
}
