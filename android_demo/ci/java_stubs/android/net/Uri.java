package android.net;

public abstract class Uri implements Comparable<Uri> {
    public static Uri parse(String uriString) { throw new RuntimeException("stub"); }
    @Override public abstract String toString();
}
