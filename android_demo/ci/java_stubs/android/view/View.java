package android.view;

public class View {
    public interface OnClickListener { void onClick(View v); }
    public interface OnLongClickListener { boolean onLongClick(View v); }
    public View(android.content.Context context) { throw new RuntimeException("stub"); }
    public final android.content.Context getContext() { throw new RuntimeException("stub"); }
    public void setOnClickListener(OnClickListener l) { throw new RuntimeException("stub"); }
    public void setOnLongClickListener(OnLongClickListener l) { throw new RuntimeException("stub"); }
    public void setLayoutParams(ViewGroup.LayoutParams params) { throw new RuntimeException("stub"); }
    public void setPadding(int left, int top, int right, int bottom) { throw new RuntimeException("stub"); }
    public void setContentDescription(CharSequence contentDescription) { throw new RuntimeException("stub"); }
}
