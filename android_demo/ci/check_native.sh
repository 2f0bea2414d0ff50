#!/usr/bin/env bash
# The NDK stand-in build: compiles the app's native code with clang for the four Android ABIs against
# Android's own jni.h (Debian's android-libnativehelper-dev), -Werror, links each shared library with lld
# as CMakeLists.txt does (16 KB page alignment) and checks every LOAD segment's alignment.
# Needs: clang, lld, llvm (llvm-readelf), android-libnativehelper-dev. Usage: check_native.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(dirname "$here")/app/src/main/cpp"
build="${1:-$(mktemp -d)}"
jni_include=/usr/include/android/nativehelper
[ -f "$jni_include/jni.h" ] || { echo "missing Android's jni.h (apt install android-libnativehelper-dev)" >&2; exit 2; }
resource="$(clang -print-resource-dir)/include"
# The page size the app's CMakeLists.txt links with; this check uses the same flag.
grep -q -- "-Wl,-z,max-page-size=16384" "$src/CMakeLists.txt" || { echo "CMakeLists.txt lacks 16 KB alignment" >&2; exit 1; }
for target in aarch64-linux-android24 armv7a-linux-androideabi24 i686-linux-android24 x86_64-linux-android24; do
    out="$build/$target"
    mkdir -p "$out"
    for file in pixel_convert.c pixel_convert_jni.c; do
        clang --target="$target" -std=c11 -ffreestanding -nostdinc -isystem "$resource" -isystem "$here/native_stubs" \
            -I"$jni_include" -fPIC -O3 -Wall -Wextra -Werror -c "$src/$file" -o "$out/${file%.c}.o"
    done
    # No Android libc here: link without it (lrintf stays an undefined symbol, as libm resolves it on a device).
    clang --target="$target" -fuse-ld=lld -nostdlib -shared -Wl,-z,max-page-size=16384 -Wl,-soname,libcinstyle_pixels.so \
        "$out/pixel_convert.o" "$out/pixel_convert_jni.o" -o "$out/libcinstyle_pixels.so"
    aligns="$(llvm-readelf -lW "$out/libcinstyle_pixels.so" | awk '$1 == "LOAD" {print $NF}')"
    for align in $aligns; do
        if [ $((align)) -lt 16384 ]; then echo "$target: LOAD segment aligned to $align, not 16 KB" >&2; exit 1; fi
    done
    exports="$(llvm-readelf --dyn-syms -W "$out/libcinstyle_pixels.so" | grep -c "Java_com_cinstyle_demo_PixelConverter_" || true)"
    [ "$exports" -eq 5 ] || { echo "$target: $exports JNI functions exported, expected 5" >&2; exit 1; }
    echo "$target: compiled with -Werror, 16 KB aligned, 5 JNI functions"
done
echo "native check passed"
