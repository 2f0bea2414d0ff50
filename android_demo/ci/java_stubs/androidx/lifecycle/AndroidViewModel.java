package androidx.lifecycle;

public class AndroidViewModel extends ViewModel {
    public AndroidViewModel(android.app.Application application) { throw new RuntimeException("stub"); }
    public <T extends android.app.Application> T getApplication() { throw new RuntimeException("stub"); }
}
