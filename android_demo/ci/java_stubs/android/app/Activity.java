package android.app;

public class Activity extends android.content.ContextWrapper {
    public Activity() { super(null); }
    protected void onCreate(android.os.Bundle savedInstanceState) { throw new RuntimeException("stub"); }
    protected void onSaveInstanceState(android.os.Bundle outState) { throw new RuntimeException("stub"); }
    public boolean isDestroyed() { throw new RuntimeException("stub"); }
}
