package androidx.lifecycle;

public class ViewModelProvider {
    public ViewModelProvider(ViewModelStoreOwner owner) { throw new RuntimeException("stub"); }
    public <T extends ViewModel> T get(Class<T> modelClass) { throw new RuntimeException("stub"); }
}
