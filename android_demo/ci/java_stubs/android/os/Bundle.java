package android.os;

public final class Bundle {
    public int getInt(String key, int defaultValue) { throw new RuntimeException("stub"); }
    public String getString(String key) { throw new RuntimeException("stub"); }
    public void putInt(String key, int value) { throw new RuntimeException("stub"); }
    public void putString(String key, String value) { throw new RuntimeException("stub"); }
}
