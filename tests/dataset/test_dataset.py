"""`cin-style dataset` on Beam's local runner: outputs, a manifest with every input's fate, bad inputs recorded
and never stopping the job, a rerun that skips finished work."""

import json
import os

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("apache_beam")

from cin_style.cli.main import main  # noqa: E402
from cin_style.dataset.plan import latest_records, plan_jobs, random_style, relative_names  # noqa: E402


@pytest.fixture()
def photos(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.png", "sub/c.jpg", "sub/c.png"):
        Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize((64, 48), Image.BICUBIC).save(
            folder / name)
    (folder / "notes.jpg").write_text("not an image")
    data = (folder / "b.png").read_bytes()
    (folder / "sub" / "truncated.png").write_bytes(data[: len(data) // 2])
    return folder


def _manifest(folder):
    lines = []
    for name in sorted(os.listdir(folder)):
        if name.startswith("manifest-"):
            lines += (folder / name).read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_folder_with_bad_files_then_a_rerun_that_skips_finished_work(photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["dataset", str(photos), "-o", str(out), "--random-style", "--seed", "5", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["done"], summary["failed"], summary["skipped"]) == (4, 2, 0)
    for name in ("a.jpg", "b.jpg", "sub/c.jpg.jpg", "sub/c.png.jpg"):  # c.jpg and c.png both kept
        with Image.open(out / name) as image:
            assert image.size == (64, 48)
    records = {os.path.relpath(r["input"], photos): r for r in _manifest(out)}
    assert records["notes.jpg"]["status"] == "failed" and "not a supported image" in records["notes.jpg"]["error"]
    assert records["sub/truncated.png"]["status"] == "failed" and "truncated" in records["sub/truncated.png"]["error"]
    assert not (out / "notes.jpg").exists() and not list(out.rglob("*.partial"))  # nothing half-written
    for record in records.values():  # the style is recorded, and the one the seed gives that input
        assert record["style"] == random_style(record["input"], list(_style_names()), 5)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")}

    assert main(["dataset", str(photos), "-o", str(out), "--random-style", "--seed", "5", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["done"], summary["failed"], summary["skipped"]) == (0, 2, 4)  # only the bad ones again
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")} == before  # finished outputs untouched


def _style_names():
    import cin_style

    return cin_style.list_styles()


def test_one_style_for_every_input_and_a_list_file_of_uris(photos, tmp_path, capsys):
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# two photos\n{photos / 'a.jpg'}\n\n{photos / 'sub' / 'c.jpg'}\n")
    out = tmp_path / "styled"
    assert main(["dataset", str(listing), "-o", str(out), "--style", "udnie=0.5,the_kiss=0.5", "--format", "png"]) == 0
    assert "2 stylized, 0 already done, 0 failed" in capsys.readouterr().out
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["a.png", "sub/c.png"]
    assert all(r["style"] == {"the_kiss": 0.5, "udnie": 0.5} for r in _manifest(out))


def test_existing_files_and_inputs_are_never_overwritten(photos, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"someone's picture")
    assert main(["dataset", str(photos / "a.jpg"), str(photos / "b.png"), "-o", str(out), "--style", "0"]) == 1
    assert (out / "a.jpg").read_bytes() == b"someone's picture"
    assert "no manifest records it" in capsys.readouterr().err
    # outputs into the input folder itself: an output that would replace its input is refused
    assert main(["dataset", str(photos / "a.jpg"), "-o", str(photos), "--style", "0"]) == 1
    with Image.open(photos / "a.jpg") as image:
        assert image.size == (64, 48)


def test_bad_arguments_are_usage_errors(photos, tmp_path, capsys):
    assert main(["dataset", str(photos), "-o", str(tmp_path / "o"), "--style", "no_such_style"]) == 2
    assert "no_such_style" in capsys.readouterr().err
    assert main(["dataset", str(photos), "-o", str(tmp_path / "o"), "--random-style", "udnie,nope"]) == 2
    assert "unknown styles ['nope']" in capsys.readouterr().err
    assert main(["dataset", str(tmp_path / "nothing_here"), "-o", str(tmp_path / "o"), "--style", "0"]) == 2
    assert "matches no files" in capsys.readouterr().err


def test_the_plan_mirrors_folders_and_draws_styles_by_seed_and_input_alone():
    inputs = ["gs://b/set/x/1.jpg", "gs://b/set/y/2.png", "gs://b/set/y/2.jpg"]
    assert relative_names(inputs) == ["x/1.jpg", "y/2.png", "y/2.jpg"]
    jobs, skipped = plan_jobs(inputs, "gs://b/out/", ".jpg", lambda uri: {"s": 1.0}, done=["gs://b/set/x/1.jpg"])
    assert skipped == ["gs://b/set/x/1.jpg"]
    assert [j.output for j in jobs] == ["gs://b/out/y/2.png.jpg", "gs://b/out/y/2.jpg.jpg"]
    names = [f"s{i}" for i in range(16)]
    drawn = [random_style(f"img{i}", names, 7) for i in range(400)]
    assert drawn == [random_style(f"img{i}", names, 7) for i in range(400)]  # reproducible
    assert len({next(iter(d)) for d in drawn}) == 16  # every style drawn
    assert drawn != [random_style(f"img{i}", names, 8) for i in range(400)]
    assert {next(iter(random_style(f"img{i}", names, 7, pool=["s1", "s2"]))) for i in range(50)} == {"s1", "s2"}
    assert latest_records(['{"input": "x", "status": "failed"}', '{"input": "x", "status": "done"}',
                           '{"input": "x", "status": "failed"}', "{broken"])["x"]["status"] == "done"


def test_outputs_inside_the_input_folder_are_not_taken_for_inputs_on_a_rerun(photos, capsys):
    out = photos / "styled"
    for _ in range(2):
        main(["dataset", str(photos), "-o", str(out), "--style", "udnie", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["done"], summary["skipped"], summary["inputs"]) == (0, 4, 6)
    assert not (out / "styled").exists()


def test_without_beam_the_command_names_the_extra(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys
        sys.modules["apache_beam"] = None  # as if the [dataset] extra were not installed
        from cin_style.cli.main import main
        print("exit", main(["dataset", {str(tmp_path)!r}, "-o", {str(tmp_path / "out")!r}, "--style", "0"]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "exit 2" in result.stdout, result.stderr[-2000:]
    assert "dataset needs Apache Beam, which the plain install leaves out: pip install 'cin-style[dataset]'" \
        in result.stderr
    assert "Traceback" not in result.stderr
