package android.view;

public abstract class ViewGroup extends View {
    public static class LayoutParams {
        public LayoutParams(int width, int height) { throw new RuntimeException("stub"); }
    }
    public static class MarginLayoutParams extends LayoutParams {
        public MarginLayoutParams(int width, int height) { super(width, height); }
    }
    public ViewGroup(android.content.Context context) { super(context); }
}
