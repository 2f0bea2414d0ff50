"""The Android sample's stand-in build (android_demo/ci): what these machines can check without the Android
SDK, NDK or Google's Maven: the native code for the four ABIs against Android's jni.h with 16 KB pages,
the manifest and resources linked by aapt2, the Java against stubs of the APIs it uses; and the shipped
model under the LiteRT version the app depends on."""

import json
import os
import re
import shutil
import subprocess
import textwrap

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DEMO = os.path.join(ROOT, "android_demo")
ASSET = os.path.join(DEMO, "app", "src", "main", "assets", "cin_style_int8.tflite")
NATIVE_TOOLS = ("clang", "ld.lld", "llvm-readelf")


def _run(script: str, build) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", os.path.join(DEMO, "ci", script), str(build)], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.skipif(not all(shutil.which(t) for t in NATIVE_TOOLS)
                    or not os.path.isfile("/usr/include/android/nativehelper/jni.h"),
                    reason="needs clang, lld, llvm and android-libnativehelper-dev (.ci/run installs them)")
def test_native_code_builds_for_every_android_abi_with_16_kb_pages(tmp_path):
    result = _run("check_native.sh", tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for abi in ("aarch64-linux-android", "armv7a-linux-androideabi", "i686-linux-android", "x86_64-linux-android"):
        assert f"{abi}24: compiled with -Werror, 16 KB aligned, 5 JNI functions" in result.stdout


@pytest.mark.skipif(not (shutil.which("javac") and shutil.which("aapt2")),
                    reason="needs a JDK and aapt2 (Debian's aapt package; .ci/run installs it)")
def test_the_apps_resources_link_and_its_java_compiles_against_the_api_stubs(tmp_path):
    result = _run("check_java.sh", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "linked by aapt2" in result.stdout and "java check passed" in result.stdout


def _app_litert_version() -> str:
    with open(os.path.join(DEMO, "app", "build.gradle"), encoding="utf-8") as handle:
        return re.search(r'"com\.google\.ai\.edge\.litert:litert:([0-9.]+)"', handle.read()).group(1)


def test_the_app_asset_under_the_apps_own_litert_version(tmp_path):
    """CIN_STYLE_APP_LITERT_PYTHON names a Python with ai-edge-litert at the version app/build.gradle uses
    (.ci/run makes one). The asset runs there as the app runs it (mirror-padded, the serving signature) and
    stays close to what the library's LiteRT gives for the same input."""
    python = os.environ.get("CIN_STYLE_APP_LITERT_PYTHON")
    if not python:
        pytest.skip("CIN_STYLE_APP_LITERT_PYTHON is not set (.ci/run sets it)")
    from PIL import Image

    from cin_style.model.architecture import pad_to_size_multiple
    from cin_style.stylization.controls import add_border_margin

    photo = Image.open(os.path.join(ROOT, "assets", "examples", "chelsea.png")).convert("RGB").resize((240, 160))
    padded = pad_to_size_multiple(add_border_margin(np.asarray(photo, np.float32) / 255)[0])
    np.save(tmp_path / "image.npy", padded[None])
    metadata = json.load(open(ASSET + ".json"))
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        from importlib.metadata import version
        from ai_edge_litert.interpreter import Interpreter
        runner = Interpreter(model_path={ASSET!r}, num_threads=1).get_signature_runner({metadata["signature"]!r})
        image = np.load({str(tmp_path / "image.npy")!r})
        outputs = []
        for style in range({len(metadata["styles"])}):
            weights = np.eye({len(metadata["styles"])}, dtype=np.float32)[style:style + 1]
            outputs.append(runner(image=image, style_weights=weights)["stylized"][0])
        np.save({str(tmp_path / "app.npy")!r}, np.stack(outputs))
        print(version("ai-edge-litert"))
    """)
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == _app_litert_version()  # the same version as the app
    app = np.load(tmp_path / "app.npy")
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=ASSET, num_threads=1).get_signature_runner(metadata["signature"])
    library = np.stack([runner(image=padded[None], style_weights=np.eye(len(app), dtype=np.float32)[i:i + 1])
                        ["stylized"][0] for i in range(len(app))])
    difference = np.abs(app - library) * 255
    psnr = 10 * np.log10(1 / np.mean((app - library) ** 2, axis=(1, 2, 3)))
    print(f"app LiteRT vs library LiteRT: worst {difference.max():.1f} levels, median PSNR {np.median(psnr):.1f} dB")
    assert app.shape == library.shape and np.all(np.isfinite(app))
    assert np.min(psnr) > 30  # int8 kernels may round differently between versions; the picture is the same
