package android.content;

public abstract class ContentResolver {
    public final android.net.Uri insert(android.net.Uri url, ContentValues values) { throw new RuntimeException("stub"); }
    public final int update(android.net.Uri uri, ContentValues values, String where, String[] selectionArgs) { throw new RuntimeException("stub"); }
    public final int delete(android.net.Uri url, String where, String[] selectionArgs) { throw new RuntimeException("stub"); }
    public final java.io.InputStream openInputStream(android.net.Uri uri) throws java.io.FileNotFoundException { throw new RuntimeException("stub"); }
    public final java.io.OutputStream openOutputStream(android.net.Uri uri) throws java.io.FileNotFoundException { throw new RuntimeException("stub"); }
}
