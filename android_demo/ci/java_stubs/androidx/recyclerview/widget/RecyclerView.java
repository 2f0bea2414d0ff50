package androidx.recyclerview.widget;

public class RecyclerView extends android.view.ViewGroup {
    public static final int HORIZONTAL = 0;
    public abstract static class LayoutManager {}
    public abstract static class ViewHolder {
        public final android.view.View itemView;
        public ViewHolder(android.view.View itemView) { this.itemView = itemView; }
    }
    public abstract static class Adapter<VH extends ViewHolder> {
        public abstract VH onCreateViewHolder(android.view.ViewGroup parent, int viewType);
        public abstract void onBindViewHolder(VH holder, int position);
        public abstract int getItemCount();
    }
    public RecyclerView(android.content.Context context) { super(context); }
    public void setLayoutManager(LayoutManager layout) { throw new RuntimeException("stub"); }
    public void setAdapter(Adapter<?> adapter) { throw new RuntimeException("stub"); }
}
