package androidx.recyclerview.widget;

public class LinearLayoutManager extends RecyclerView.LayoutManager {
    public static final int HORIZONTAL = RecyclerView.HORIZONTAL;
    public LinearLayoutManager(android.content.Context context, int orientation, boolean reverseLayout) { throw new RuntimeException("stub"); }
}
