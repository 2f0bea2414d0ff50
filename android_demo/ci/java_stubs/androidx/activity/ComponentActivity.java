package androidx.activity;

public class ComponentActivity extends androidx.core.app.ComponentActivity
        implements androidx.lifecycle.ViewModelStoreOwner {
    public final <I, O> androidx.activity.result.ActivityResultLauncher<I> registerForActivityResult(
            androidx.activity.result.contract.ActivityResultContract<I, O> contract,
            androidx.activity.result.ActivityResultCallback<O> callback) { throw new RuntimeException("stub"); }
    public void setContentView(int layoutResID) { throw new RuntimeException("stub"); }
    @Override protected void onSaveInstanceState(android.os.Bundle outState) { throw new RuntimeException("stub"); }
}
