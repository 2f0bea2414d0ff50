package androidx.core.app;

public class ComponentActivity extends android.app.Activity implements androidx.lifecycle.LifecycleOwner {}
