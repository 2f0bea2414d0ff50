"""The Android sample's pixel contract: the Python library and the native JNI code against one
golden file (android_demo/golden/pixels.json)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
GOLDEN = os.path.join(ROOT, "android_demo", "golden", "pixels.json")


def test_python_library_reproduces_the_golden_vectors():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        from make_pixel_golden import golden
    finally:
        sys.path.pop(0)
    with open(GOLDEN, encoding="utf-8") as handle:
        assert golden() == json.load(handle)


@pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("javac") and shutil.which("java")),
                    reason="needs gcc and a JDK (javac, java)")
def test_native_conversion_on_the_host(tmp_path):
    result = subprocess.run(["bash", os.path.join(ROOT, "android_demo", "host_test", "run.sh"), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "host test passed" in result.stdout
    assert "coalescing host test passed" in result.stdout  # repeated taps run at most one more stylization
    print(result.stdout)
