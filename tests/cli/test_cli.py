"""The installed `cin-style` command, end to end, on a tiny saved model."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


def run_cli(*args, cwd=None):
    """The installed ``cin-style`` executable in a new process (start-up, entry point, absl tools)."""
    executable = shutil.which("cin-style") or os.path.join(os.path.dirname(sys.executable), "cin-style")
    return subprocess.run([executable, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def run_main(*args, cwd=None):
    """``cin_style.cli.main`` in this process: the same parsing, handlers and exit codes as the
    executable, without a TensorFlow start-up per call (~10 s each on a 2-core machine)."""
    from cin_style.cli.main import main

    stdout, stderr, previous = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:  # argparse's own usage errors
                code = exit_.code
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(args, code, stdout.getvalue(), stderr.getvalue())


def test_help_reads_as_documentation():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "cin-style stylize photo.jpg --style starry_night -o out.jpg" in result.stdout
    sub = run_cli("stylize", "--help")
    assert "--style" in sub.stdout and "--out-dir" in sub.stdout


def test_styles_lists_the_manifest(tiny_model_dir):
    result = run_main("styles", "--model", tiny_model_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[1].split()[:2] == ["1", "beta_style"]


def test_stylize_one_file(tiny_model_dir, photo_path, tmp_path):
    out = tmp_path / "out.jpg"
    result = run_main("stylize", photo_path, "--style", "alpha_style=0.5,gamma_style=0.5", "-o", out,
                     "--model", tiny_model_dir)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == Image.open(photo_path).size
    again = run_main("stylize", photo_path, "--style", "1", "-o", out, "--model", tiny_model_dir)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert run_main("stylize", photo_path, "--style", "1", "-o", out, "--model", tiny_model_dir,
                   "--overwrite").returncode == 0


def test_input_is_never_overwritten(tiny_model_dir, photo_path):
    before = open(photo_path, "rb").read()
    result = run_main("stylize", photo_path, "--style", "0", "-o", photo_path, "--model", tiny_model_dir,
                     "--overwrite")
    assert result.returncode == 2 and "refusing to overwrite an input" in result.stderr
    assert open(photo_path, "rb").read() == before


def test_folder_with_a_broken_file_exits_1_and_does_the_rest(tiny_model_dir, tmp_path):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ["a.png", "sub/b.jpg"]:
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), np.uint8)).save(photos / name)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out_dir = tmp_path / "out"
    result = run_main("stylize", photos, "--style", "gamma_style", "--out-dir", out_dir, "--model", tiny_model_dir)
    assert result.returncode == 1
    assert "broken.jpg" in result.stderr and "2 of 3 images done" in result.stderr
    assert "[3/3, 1 failed]" in result.stderr  # the progress line: failures are not throughput
    written = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    assert written == ["a_gamma_style.png", "sub/b_gamma_style.jpg"]


@pytest.mark.parametrize("args,message", [
    (["--style", "nope", "-o", "x.png"], "unknown style 'nope'"),
    (["--style", "7", "-o", "x.png"], "out of range"),
    (["--style", "alpha_style=-1", "-o", "x.png"], ">= 0"),
    (["--style", "0"], "say where to write"),
    (["--style", "0", "-o", "x.png", "--out-dir", "d"], "not allowed with argument -o/--output"),
    (["--style", "0", "-o", "x"], "x: cannot write files without an extension; use one of"),
    (["--style", "0", "-o", "x.gif"], "x.gif: cannot write .gif"),
    (["--style", "0", "--style-scale", "big", "-o", "x.png"], "--style-scale: style_scale must be 'auto' or a number"),
    (["--style", "0", "--feather", "1e12", "-o", "x.png"], "--feather: 1e12 is out of range; allowed 0.0..1000.0"),
    (["--style", "0", "--quality", "300", "-o", "x.webp"], "--quality: 300 is out of range; allowed 1..100"),
    (["--style", "0", "--strength", "nan", "-o", "x.png"], "--strength: nan is out of range"),
    (["--style", "0", "--threads", "0", "-o", "x.png"], "--threads: 0 is out of range; allowed 1..1024"),
    (["--style", "0", "--max-pixels", "lots", "-o", "x.png"], "--max-pixels: 'lots' is not an integer"),
])
def test_usage_errors_exit_2(tiny_model_dir, photo_path, tmp_path, args, message):
    result = run_main("stylize", photo_path, *args, "--model", tiny_model_dir, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_a_folder_where_a_file_belongs_is_a_usage_error(tiny_model_dir, photo_path, tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "notes.txt").write_text("keep")
    before = sorted(os.listdir(tmp_path))
    as_file = run_main("stylize", photo_path, "--style", "0", "-o", "results", "--model", tiny_model_dir, cwd=tmp_path)
    assert as_file.returncode == 2 and "results: is a folder; -o names the output file" in as_file.stderr
    as_folder = run_main("stylize", photo_path, "--style", "0", "--out-dir", "notes.txt", "--model", tiny_model_dir,
                         cwd=tmp_path)
    assert as_folder.returncode == 2 and "--out-dir notes.txt: is a file; give a folder" in as_folder.stderr
    assert sorted(os.listdir(tmp_path)) == before and not os.listdir(tmp_path / "results")


def test_device_choice_is_honoured_or_refused_clearly(tiny_model_dir, photo_path, tmp_path):
    import tensorflow as tf

    runtime = run_main("stylize", photo_path, "--style", "0", "--device", "gpu", "-o", tmp_path / "a.png")
    assert runtime.returncode == 2 and "the runtime (LiteRT) runs on the CPU" in runtime.stderr
    on_cpu = run_main("stylize", photo_path, "--style", "0", "--device", "cpu", "--model", tiny_model_dir,
                      "-o", tmp_path / "b.png")
    assert on_cpu.returncode == 0, on_cpu.stderr
    if not tf.config.list_physical_devices("GPU"):
        gpu = run_main("stylize", photo_path, "--style", "0", "--device", "gpu", "--model", tiny_model_dir,
                       "-o", tmp_path / "c.png")
        assert gpu.returncode == 2 and "TensorFlow sees no GPU" in gpu.stderr
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["b.png", "photo.png"]


def test_missing_model_exits_2(photo_path, tmp_path):
    result = run_main("stylize", photo_path, "--style", "0", "-o", tmp_path / "x.png", "--model", tmp_path / "none")
    assert result.returncode == 2 and "no such model directory" in result.stderr


def test_pack_export_and_import(tiny_model_dir, tmp_path):
    pack = tmp_path / "beta.npz"
    assert run_main("pack", "export", "--model", tiny_model_dir, "--style", "beta_style", "-o", pack).returncode == 0
    result = run_main("pack", "import", pack, "--model", tiny_model_dir, "--name", "beta_copy", "-o", tmp_path / "m4")
    assert result.returncode == 0, result.stderr
    assert run_main("styles", "--model", tmp_path / "m4").stdout.split("\n")[3].split()[:2] == ["3", "beta_copy"]
    clash = run_main("pack", "import", pack, "--model", tiny_model_dir, "-o", tmp_path / "m5")
    assert clash.returncode == 2 and "already in the model" in clash.stderr


def test_stylize_controls_on_the_command_line(tiny_model_dir, photo_path, tmp_path):
    size = Image.open(photo_path).size
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[:, : size[0] // 2] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    result = run_main("stylize", photo_path, "--style", "alpha_style", "--mask", tmp_path / "mask.png",
                     "--style-outside", "gamma_style", "--strength", "0.8", "--preserve-color",
                     "-o", tmp_path / "out.png", "--model", tiny_model_dir)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "out.png").size == size
    bad = run_main("stylize", photo_path, "--style", "0", "--mask", tmp_path / "mask.png", "-o", tmp_path / "x.png",
                  "--model", tiny_model_dir)
    assert bad.returncode == 2 and "go together" in bad.stderr


@pytest.mark.parametrize("command,option,default", [("train", "--content-dir", "(default: 40000)"),
                                                    ("export", "--calibration-dir", "(default: mse)"),
                                                    ("slim", "--distill-weight", "(default: 20.0)"),
                                                    ("sheet", "--tile-size", "(default: 256)"),
                                                    ("video", "--stability", "(default: 0.8)")])
def test_every_command_documents_its_options_with_defaults_without_starting_tensorflow(command, option, default):
    script = ("import sys\nfrom cin_style.cli.main import main\ntry:\n    main([%r, '--help'])\n"
              "except SystemExit as exit_:\n    code = exit_.code\n"
              "print('TF' if 'tensorflow' in sys.modules else 'no TF', code, file=sys.stderr)" % command)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stderr.strip().endswith("no TF 0"), result.stderr[-2000:]
    assert option in result.stdout and default in result.stdout


def test_options_of_earlier_releases_keep_working():
    from cin_style.cli.common import canonical_options

    assert canonical_options(["--content_dir", "a_b", "--style_strengths=x_y=1", "--noequalize", "--nothing", "--",
                              "--keep_me"], {"equalize"}) == [
        "--content-dir", "a_b", "--style-strengths=x_y=1", "--no-equalize", "--nothing", "--", "--keep_me"]


def test_export_rejects_unknown_activation_ranges(tmp_path):
    result = run_cli("export", "--mode", "int8", "--activation-ranges", "1.5", "--output", tmp_path / "x.tflite")
    assert result.returncode == 2 and "activation_ranges must be 'mse', 'calibrator' or a quantile" in result.stderr
    assert not (tmp_path / "x.tflite").exists()


def test_export_writes_the_tiles_file_beside_and_never_replaces_one_unasked(tiny_model_dir, tmp_path):
    output = tmp_path / "tiny.tflite"
    (tmp_path / "tiny.tiles.tflite").write_bytes(b"someone's file")
    refused = run_main("export", "--model", tiny_model_dir, "--mode", "float32", "--output", output)
    assert refused.returncode == 2 and "tiny.tiles.tflite: already exists" in refused.stderr
    assert not output.exists() and (tmp_path / "tiny.tiles.tflite").read_bytes() == b"someone's file"
    result = run_main("export", "--model", tiny_model_dir, "--mode", "float32", "--output", output, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert "tiny.tiles.tflite" in result.stdout
    tiles = json.loads((tmp_path / "tiny.tiles.tflite.json").read_text())
    mixed = run_main("export", "--model", tiny_model_dir, "--mode", "float16", "--float-ends", "--output", output)
    assert mixed.returncode == 2 and "--float-ends applies to --mode int8" in mixed.stderr
    assert tiles["role"] == "tiles" and tiles["runtime_sha256"] == json.loads((tmp_path / "tiny.tflite.json")
                                                                             .read_text())["sha256"]


def test_train_without_required_flags_is_a_usage_error(photo_path, tmp_path):
    result = run_main("train", "--num-steps", "1")
    assert result.returncode == 2 and "--content-dir" in result.stderr and "required" in result.stderr
    photos = os.path.dirname(photo_path)
    for pools in ("4,eight", "0"):
        bad = run_main("train", "--content-dir", photos, "--style-images", photo_path, "--output-dir",
                       tmp_path / "run", "--laplacian-weight", "1", "--laplacian-pools", pools)
        assert bad.returncode == 2 and f"--laplacian-pools must be whole numbers >= 1, got {pools}" in bad.stderr
        assert not (tmp_path / "run").exists()


def test_slim_writes_a_magnitude_pruned_model(tiny_model_dir, photo_path, tmp_path):
    from cin_style.model.format import load_model
    from cin_style.slim.sparsity import kernel_sparsity

    photos = os.path.dirname(photo_path)
    missing = run_main("slim", "--model", tiny_model_dir, "--alpha", "0.0625", "--num-steps", "0",
                       "--magnitude-sparsity", "0.5", "--output-dir", tmp_path / "no_photos")
    assert missing.returncode == 2 and "--content-dir is required" in missing.stderr
    assert not (tmp_path / "no_photos").exists()  # refused before any work
    no_styles = run_main("slim", "--model", tiny_model_dir, "--alpha", "0.0625", "--content-dir", photos,
                         "--output-dir", tmp_path / "no_styles")
    assert no_styles.returncode == 2 and "--style-dir is required" in no_styles.stderr
    result = run_cli("slim", "--model", tiny_model_dir, "--alpha", "0.0625", "--num-steps", "0",
                     "--magnitude-sparsity", "0.5", "--magnitude-steps", "4", "--image-size", "32",
                     "--content-dir", photos, "--output-dir", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    sparse = load_model(tmp_path / "run" / "model_sparse")
    assert sparse.architecture.alpha == 0.0625
    assert abs(kernel_sparsity(sparse) - 0.5) < 0.02
    assert kernel_sparsity(load_model(tmp_path / "run" / "pruned")) == 0.0


def test_installed_command_stylizes_with_a_clean_stderr(tiny_model_dir, photo_path, tmp_path):
    # TensorFlow's CUDA-enabled wheels print GPU-probing lines at start-up on machines without a GPU.
    out = tmp_path / "o.png"
    result = run_cli("stylize", photo_path, "--style", "beta_style", "-o", out, "--model", tiny_model_dir)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == Image.open(photo_path).size
    assert "absl::InitializeLog" not in result.stderr and "cuInit" not in result.stderr, result.stderr
    assert "cudart" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_startup_filter_drops_only_the_known_noise(capfd):
    from cin_style.quiet_start import run_with_filtered_stderr

    def noisy():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                    b"I0000 00:00:1796214490.484217    2368 cudart_stub.cc:31] Could not find cuda drivers\n"
                    b"E0000 00:00:1796214496.369943    2368 cuda_platform.cc:52] failed call to cuInit\n"
                    b"a real warning\n")
        return 7

    assert run_with_filtered_stderr(noisy) == 7
    assert capfd.readouterr().err == "a real warning\n"


def test_startup_failure_shows_everything_captured(capfd):
    from cin_style.quiet_start import run_with_filtered_stderr

    def broken():
        os.write(2, b"I0000 00:00:1.0    1 cudart_stub.cc:31] Could not find cuda drivers\n")
        raise ImportError("no tensorflow")

    with pytest.raises(ImportError, match="no tensorflow"):
        run_with_filtered_stderr(broken)
    assert "cudart_stub" in capfd.readouterr().err


def test_outputs_are_checked_before_any_work(tiny_model_dir, photo_path, tmp_path):
    """Collisions, masks as outputs and existing files are usage errors before a model is even loaded."""
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.open(photo_path).save(photos / "a.png")
    Image.open(photo_path).save(photos / "a.jpg")
    out = tmp_path / "out"
    collide = run_main("stylize", photos, "--style", "0", "--out-dir", out, "--format", "png",
                       "--model", tmp_path / "no_model_here")
    assert collide.returncode == 2 and "would both be written to" in collide.stderr
    assert not out.exists()
    mask = tmp_path / "mask.png"
    Image.new("L", Image.open(photo_path).size, 255).save(mask)
    before = mask.read_bytes()
    masked = run_main("stylize", photo_path, "--style", "0", "--mask", mask, "--style-outside", "1", "-o", mask,
                      "--overwrite", "--model", tiny_model_dir)
    assert masked.returncode == 2 and "refusing to overwrite an input" in masked.stderr
    assert mask.read_bytes() == before
    existing = tmp_path / "existing.jpg"
    existing.write_bytes(b"keep me")
    refused = run_main("stylize", photo_path, "--style", "0", "-o", existing, "--model", tmp_path / "no_model_here")
    assert refused.returncode == 2 and "already exists" in refused.stderr and "no_model_here" not in refused.stderr
    assert existing.read_bytes() == b"keep me"


def test_pipes_json_and_info_on_the_runtime(photo_path, tmp_path):
    """`cin-style stylize - -o -` reads and writes standard streams; --json reports each input; info
    describes the installation; none of it starts TensorFlow."""
    executable = shutil.which("cin-style") or os.path.join(os.path.dirname(sys.executable), "cin-style")
    with open(photo_path, "rb") as handle:
        piped = subprocess.run([executable, "stylize", "-", "--style", "udnie", "-o", "-"], stdin=handle,
                               capture_output=True, timeout=300)
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert Image.open(io.BytesIO(piped.stdout)).size == Image.open(photo_path).size
    assert piped.stderr == b""
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    reported = run_cli("stylize", photo_path, broken, "--style", "0", "--out-dir", tmp_path / "out", "--json")
    assert reported.returncode == 1
    records = {r["input"]: r for r in map(json.loads, reported.stdout.splitlines())}
    good, bad = records[str(photo_path)], records[str(broken)]
    assert os.path.exists(good["output"]) and good["width"] == Image.open(photo_path).width and good["seconds"] > 0
    assert bad["output"] is None and "not a supported image" in bad["error"]
    both = run_cli("stylize", photo_path, "--style", "0", "-o", "-", "--json")
    assert both.returncode == 2 and "both write to standard output" in both.stderr
    info = run_cli("info", "--json")
    facts = json.loads(info.stdout)
    assert facts["styles"] == 16 and facts["threads"] >= 1 and facts["runtime_model_mode"] == "int8"


def test_sheet_shows_the_photo_and_every_style_in_a_labelled_grid(tiny_model_dir, photo_path, tmp_path):
    sheet = tmp_path / "sheet.png"
    result = run_main("sheet", photo_path, "--model", tiny_model_dir, "--tile-size", "64", "-o", sheet)
    assert result.returncode == 0, result.stderr
    grid = np.asarray(Image.open(sheet).convert("RGB"), np.float32)
    # the photo and 3 styles: 2 x 2 tiles of the photo's shape (53 x 37 -> 64 x 45), each under a label
    assert grid.shape[1] > grid.shape[0] and grid.shape[1] == 6 + 2 * (64 + 6)
    tiles = [grid[y:y + 45, x:x + 64] for y in (6 + 16, 6 + 16 + 45 + 6 + 16) for x in (6, 6 + 64 + 6)]
    photo = np.asarray(Image.open(photo_path).convert("RGB").resize((64, 45), Image.Resampling.LANCZOS), np.float32)
    assert np.abs(tiles[0] - photo).mean() < 8  # the photo first
    assert min(np.abs(a - b).mean() for i, a in enumerate(tiles[1:]) for b in tiles[i + 2:]) > 1  # styles differ
    two = run_main("sheet", photo_path, "--model", tiny_model_dir, "--styles", "gamma_style,0", "--columns", "3",
                   "--tile-size", "64", "-o", tmp_path / "two.jpg")
    assert two.returncode == 0 and Image.open(tmp_path / "two.jpg").size == (6 + 3 * 70, 6 + 16 + 45 + 6)
    as_json = run_main("sheet", photo_path, "--model", tiny_model_dir, "--styles", "1,gamma_style", "--tile-size", "32",
                       "-o", tmp_path / "three.png", "--json")
    record = json.loads(as_json.stdout)
    assert record["output"] == str(tmp_path / "three.png") and record["styles"] == ["beta_style", "gamma_style"]
    assert (record["width"], record["height"]) == Image.open(tmp_path / "three.png").size


@pytest.mark.parametrize("args,message", [
    (["--styles", "alpha_style,nope"], "unknown style 'nope'"),
    (["-o", "sheet.gif"], "cannot write .gif"),
    (["-o", "taken.png"], "taken.png: already exists"),
    (["-o", "."], "is a folder"),
])
def test_sheet_usage_errors_leave_nothing_behind(tiny_model_dir, photo_path, tmp_path, args, message):
    (tmp_path / "taken.png").write_bytes(b"keep")
    before = sorted(os.listdir(tmp_path))
    output = [] if "-o" in args else ["-o", "sheet.png"]
    result = run_main("sheet", photo_path, "--model", tiny_model_dir, *args, *output, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == before and (tmp_path / "taken.png").read_bytes() == b"keep"
