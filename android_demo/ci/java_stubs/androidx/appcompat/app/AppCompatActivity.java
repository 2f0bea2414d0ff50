package androidx.appcompat.app;

public class AppCompatActivity extends androidx.fragment.app.FragmentActivity {
    @Override public void setContentView(int layoutResID) { throw new RuntimeException("stub"); }
    public <T extends android.view.View> T findViewById(int id) { throw new RuntimeException("stub"); }
}
