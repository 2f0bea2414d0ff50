package android.widget;

public abstract class CompoundButton extends Button {
    public interface OnCheckedChangeListener { void onCheckedChanged(CompoundButton buttonView, boolean isChecked); }
    public CompoundButton(android.content.Context context) { super(context); }
    public void setOnCheckedChangeListener(OnCheckedChangeListener listener) { throw new RuntimeException("stub"); }
}
