package android.widget;

public class SeekBar extends android.view.View {
    public interface OnSeekBarChangeListener {
        void onProgressChanged(SeekBar seekBar, int progress, boolean fromUser);
        void onStartTrackingTouch(SeekBar seekBar);
        void onStopTrackingTouch(SeekBar seekBar);
    }
    public SeekBar(android.content.Context context) { super(context); }
    public void setOnSeekBarChangeListener(OnSeekBarChangeListener l) { throw new RuntimeException("stub"); }
    public synchronized int getProgress() { throw new RuntimeException("stub"); }
}
