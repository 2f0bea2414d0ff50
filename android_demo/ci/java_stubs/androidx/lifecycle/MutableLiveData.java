package androidx.lifecycle;

public class MutableLiveData<T> extends LiveData<T> {
    public MutableLiveData() {}
    @Override public void postValue(T value) { throw new RuntimeException("stub"); }
    @Override public void setValue(T value) { throw new RuntimeException("stub"); }
}
