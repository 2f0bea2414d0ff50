package org.json;

public class JSONObject {
    public JSONObject(String json) throws JSONException { throw new RuntimeException("stub"); }
    public String getString(String name) throws JSONException { throw new RuntimeException("stub"); }
    public int getInt(String name) throws JSONException { throw new RuntimeException("stub"); }
    public double getDouble(String name) throws JSONException { throw new RuntimeException("stub"); }
    public int optInt(String name, int fallback) { throw new RuntimeException("stub"); }
    public String optString(String name, String fallback) { throw new RuntimeException("stub"); }
    public JSONObject getJSONObject(String name) throws JSONException { throw new RuntimeException("stub"); }
    public JSONArray getJSONArray(String name) throws JSONException { throw new RuntimeException("stub"); }
}
