#!/usr/bin/env bash
# The Java half of the stand-in build: checks the resources and writes R.java (resources.py), compiles the
# stubs of the Android, AndroidX and LiteRT 1.4.0 classes the app uses (java_stubs/: their documented
# signatures, bodies that throw), then the app's Java against them with every lint warning an error.
# Needs: a JDK 17 or newer, python3. Usage: check_java.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app="$(dirname "$here")/app/src/main"
build="${1:-$(mktemp -d)}"
mkdir -p "$build/stubs" "$build/generated" "$build/app"
python3 "$here/resources.py" "$app" "$build/generated"
find "$here/java_stubs" -name "*.java" > "$build/stub_sources.txt"
javac --release 17 -Xlint:all -Werror -d "$build/stubs" @"$build/stub_sources.txt"
find "$app/java" "$build/generated" -name "*.java" > "$build/app_sources.txt"
javac --release 17 -Xlint:all -Werror -classpath "$build/stubs" -d "$build/app" @"$build/app_sources.txt"
echo "java check passed: $(wc -l < "$build/app_sources.txt") app sources, $(wc -l < "$build/stub_sources.txt") stubs"
