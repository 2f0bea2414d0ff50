package android.graphics;

public class Matrix {
    public Matrix() { throw new RuntimeException("stub"); }
    public boolean postScale(float sx, float sy) { throw new RuntimeException("stub"); }
    public boolean postRotate(float degrees) { throw new RuntimeException("stub"); }
}
