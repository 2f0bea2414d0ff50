package androidx.lifecycle;

public abstract class LiveData<T> {
    public void observe(LifecycleOwner owner, Observer<? super T> observer) { throw new RuntimeException("stub"); }
    public T getValue() { throw new RuntimeException("stub"); }
    protected void postValue(T value) { throw new RuntimeException("stub"); }
    protected void setValue(T value) { throw new RuntimeException("stub"); }
}
