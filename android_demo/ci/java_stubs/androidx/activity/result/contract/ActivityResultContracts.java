package androidx.activity.result.contract;

public final class ActivityResultContracts {
    public static class PickVisualMedia extends ActivityResultContract<androidx.activity.result.PickVisualMediaRequest, android.net.Uri> {
        public interface VisualMediaType {}
        public static final class ImageOnly implements VisualMediaType {
            public static final ImageOnly INSTANCE = new ImageOnly();
            private ImageOnly() {}
        }
        public PickVisualMedia() { throw new RuntimeException("stub"); }
    }
    public static class TakePicture extends ActivityResultContract<android.net.Uri, Boolean> {
        public TakePicture() { throw new RuntimeException("stub"); }
    }
    public static final class RequestPermission extends ActivityResultContract<String, Boolean> {
        public RequestPermission() { throw new RuntimeException("stub"); }
    }
}
