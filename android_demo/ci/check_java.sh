#!/usr/bin/env bash
# The resource and Java half of the stand-in build:
#  1. aapt2 (Debian's aapt package) compiles and links the app's manifest and resources against stand-ins for
#     the platform's and AppCompat's resources (resource_stubs/: the attributes and theme the app uses, with
#     their documented formats), after the manifest edits the Android Gradle plugin makes (package, uses-sdk
#     from app/build.gradle, ${applicationId}); it writes R.java;
#  2. javac compiles the stubs of the Android, AndroidX and LiteRT 1.4.0 classes the app uses (java_stubs/:
#     documented signatures, bodies that throw), then the app's Java and that R.java against them with every
#     lint warning an error.
# Needs: aapt2, a JDK 17 or newer. Usage: check_java.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
demo="$(dirname "$here")"
app="$demo/app/src/main"
build="${1:-$(mktemp -d)}"
mkdir -p "$build/stubs" "$build/generated" "$build/app" "$build/res"
gradle_value() { sed -n "s/^ *$1 \([0-9A-Za-z.\"]*\).*/\1/p" "$demo/app/build.gradle" | tr -d '"' | head -1; }
package="$(gradle_value namespace)"
min_sdk="$(gradle_value minSdk)"
target_sdk="$(gradle_value targetSdk)"
[ -n "$package" ] && [ -n "$min_sdk" ] && [ -n "$target_sdk" ] || { echo "app/build.gradle: namespace/minSdk/targetSdk not found" >&2; exit 1; }

# The platform stand-in: a resource package named "android" (package id 0x02: aapt2 reserves 0x01).
aapt2 compile --dir "$here/resource_stubs/android/res" -o "$build/res/android.zip"
aapt2 link --allow-reserved-package-id --package-id 0x02 --manifest "$here/resource_stubs/android/AndroidManifest.xml" \
    -o "$build/res/android.apk" "$build/res/android.zip"
# The manifest as the Android Gradle plugin hands it to aapt2.
sed -e "s|<manifest xmlns:android=\"http://schemas.android.com/apk/res/android\">|<manifest xmlns:android=\"http://schemas.android.com/apk/res/android\" package=\"$package\">\\n    <uses-sdk android:minSdkVersion=\"$min_sdk\" android:targetSdkVersion=\"$target_sdk\" />|" \
    -e "s|\${applicationId}|$package|g" "$app/AndroidManifest.xml" > "$build/res/AndroidManifest.xml"
grep -q "package=\"$package\"" "$build/res/AndroidManifest.xml" || { echo "could not prepare the manifest" >&2; exit 1; }
aapt2 compile --dir "$here/resource_stubs/appcompat/res" -o "$build/res/appcompat.zip"
aapt2 compile --dir "$app/res" -o "$build/res/app.zip"
aapt2 link -I "$build/res/android.apk" --manifest "$build/res/AndroidManifest.xml" --auto-add-overlay \
    --java "$build/generated" -o "$build/res/app.apk" "$build/res/appcompat.zip" "$build/res/app.zip"
echo "resources: manifest and $(find "$app/res" -type f | wc -l) resource files linked by aapt2 $(aapt2 version 2>&1 | sed 's/.*aapt) //')"

find "$here/java_stubs" -name "*.java" > "$build/stub_sources.txt"
javac --release 17 -Xlint:all -Werror -d "$build/stubs" @"$build/stub_sources.txt"
find "$app/java" "$build/generated" -name "*.java" > "$build/app_sources.txt"
javac --release 17 -Xlint:all -Werror -classpath "$build/stubs" -d "$build/app" @"$build/app_sources.txt"
echo "java check passed: $(wc -l < "$build/app_sources.txt") app sources, $(wc -l < "$build/stub_sources.txt") stubs"
