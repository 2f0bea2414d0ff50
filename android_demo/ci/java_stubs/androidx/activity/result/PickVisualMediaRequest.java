package androidx.activity.result;

public final class PickVisualMediaRequest {
    public static final class Builder {
        public Builder() { throw new RuntimeException("stub"); }
        public Builder setMediaType(androidx.activity.result.contract.ActivityResultContracts.PickVisualMedia.VisualMediaType mediaType) { throw new RuntimeException("stub"); }
        public PickVisualMediaRequest build() { throw new RuntimeException("stub"); }
    }
}
