#!/usr/bin/env bash
# Build the Android sample's JNI library for the host with gcc and the JDK's jni.h, compile the
# Java harness with javac and run it: golden vectors, round trip, bounds errors, 1024x1024 timing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
demo="$(dirname "$here")"
build="${1:-$(mktemp -d)}"
javac_path="$(readlink -f "$(command -v javac)")"
java_home="${JAVA_HOME:-$(dirname "$(dirname "$javac_path")")}"
mkdir -p "$build/classes"
gcc -O3 -Wall -Wextra -Werror -shared -fPIC -I"$java_home/include" -I"$java_home/include/linux" \
    "$demo/app/src/main/cpp/pixel_convert.c" "$demo/app/src/main/cpp/pixel_convert_jni.c" \
    -o "$build/libcinstyle_pixels.so" -lm
javac -Xlint:all -Werror -d "$build/classes" "$demo/app/src/main/java/com/cinstyle/demo/PixelConverter.java" \
    "$demo/app/src/main/java/com/cinstyle/demo/LatestRequest.java" "$here/PixelConverterHostTest.java" \
    "$here/LatestRequestHostTest.java"
# -Xcheck:jni is what every debug build on a device does: any JNI misuse it reports fails the test.
java -Xcheck:jni -Djava.library.path="$build" -cp "$build/classes" PixelConverterHostTest "$demo/golden/pixels.json" \
    > "$build/out.txt" 2>&1 || { cat "$build/out.txt"; exit 1; }
cat "$build/out.txt"
java -cp "$build/classes" LatestRequestHostTest
if grep -qiE "^warning|WARNING in native method|FATAL ERROR in native method" "$build/out.txt"; then
    echo "JNI misuse reported by -Xcheck:jni" >&2
    exit 1
fi
