"""Video: frames, timing, size and audio kept; frames held steady without trails; bad clips refused cheaply."""

import json
import os

import numpy as np
import pytest

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from cin_style.cli.main import main  # noqa: E402
from cin_style.errors import MissingExtra, StyleError, VideoError  # noqa: E402
from cin_style.files.video import probe_video, transcode_frames  # noqa: E402
from cin_style.stylization.temporal import TemporalSettings, TemporalStabilizer  # noqa: E402
from cin_style.stylization.video import stylize_video  # noqa: E402


def _texture(height, width, seed=0):
    rng = np.random.default_rng(seed)
    coarse = rng.random((height // 8 + 2, width // 8 + 2, 3))
    return np.kron(coarse, np.ones((8, 8, 1)))[:height, :width].astype(np.float32)


def _write_clip(path, frames, rate=24, audio=True):
    """An H.264 clip of ``frames`` (uint8 RGB) with a second of AAC tone."""
    with av.open(str(path), "w") as output:
        video = output.add_stream("libx264", rate=rate)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        sound = output.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                output.mux(packet)
        if sound is not None:
            for start in range(0, 16000, 1024):
                tone = 0.2 * np.sin(2 * np.pi * 440 * np.arange(start, start + 1024) / 16000)
                chunk = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], format="fltp", layout="mono")
                chunk.sample_rate = 16000
                for packet in sound.encode(chunk):
                    output.mux(packet)
        for stream in [video] + ([sound] if sound is not None else []):
            for packet in stream.encode():
                output.mux(packet)
    return str(path)


@pytest.fixture
def pan_clip(tmp_path):
    """18 frames of a window panning 2 px a frame across a texture, 64x48, with audio."""
    texture = (_texture(48, 64 + 2 * 18) * 255).astype(np.uint8)
    return _write_clip(tmp_path / "pan.mp4", [texture[:, 2 * t:2 * t + 64] for t in range(18)], rate=15)


def _frames(path):
    with av.open(path) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_stylize_video_keeps_frames_timing_size_and_audio(pan_clip, tmp_path):
    out = str(tmp_path / "out.mp4")
    seen = []
    result = stylize_video(pan_clip, out, "starry_night", progress=lambda done, total: seen.append((done, total)))
    assert (result.frames, result.width, result.height) == (18, 64, 48)
    assert result.frame_rate == 15 and result.audio == "aac"
    assert seen[-1] == (18, 18)
    info = probe_video(out)
    assert (info.width, info.height, info.frames, info.frame_rate, info.audio) == (64, 48, 18, 15, "aac")
    assert abs(info.duration_s - probe_video(pan_clip).duration_s) < 0.1
    source, styled = _frames(pan_clip), _frames(out)
    assert len(styled) == 18
    assert np.abs(styled[5].astype(float) - source[5]).mean() > 20  # painted, not copied


def test_webm_output_reencodes_the_audio(pan_clip, tmp_path):
    out = str(tmp_path / "out.webm")
    stylize_video(pan_clip, out, "udnie", strength=0.5)
    with av.open(out) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
    assert len(_frames(out)) == 18


def _temporal_error(outputs, shift):
    """Mean |O_t - O_{t-1} shifted by the known pan| inside the frame."""
    return np.mean([np.abs(b[:, :-shift] - a[:, shift:]).mean() for a, b in zip(outputs, outputs[1:])])


def test_the_stabilizer_removes_flicker_on_a_pan():
    rng = np.random.default_rng(1)
    texture = _texture(48, 64 + 3 * 12)
    frames = [texture[:, 3 * t:3 * t + 64] for t in range(12)]
    # A "stylization" that flickers: the frame plus fresh noise each time, as a network's strokes change.
    flickering = [np.clip(f + rng.normal(0, 0.08, f.shape), 0, 1).astype(np.float32) for f in frames]
    stabilizer = TemporalStabilizer(TemporalSettings(stability=0.8, detail_sigma=0))
    steady = [stabilizer(frame, styled)[0] for frame, styled in zip(frames, flickering)]
    assert _temporal_error(steady, 3) < 0.6 * _temporal_error(flickering, 3)


def test_a_moving_object_leaves_no_trail():
    """Where something moves that the flow cannot follow, the frame's own stylization is kept."""
    background = _texture(48, 64, seed=2)
    frames, styled = [], []
    for t in range(6):
        frame = background.copy()
        frame[16:32, 8 + 8 * t:24 + 8 * t] = [1.0, 0.1, 0.1]  # a red square jumping 8 px a frame
        frames.append(frame)
        styled.append((1.0 - frame).astype(np.float32))
    stabilizer = TemporalStabilizer(TemporalSettings(stability=0.9, detail_sigma=0))
    outputs = [stabilizer(f, s)[0] for f, s in zip(frames, styled)]
    # The square's old place (uncovered background) must not keep the square's colour.
    uncovered = (slice(18, 30), slice(10, 14))
    assert np.abs(outputs[-1][uncovered] - styled[-1][uncovered]).max() < 0.15


def test_a_scene_cut_starts_afresh():
    first, second = _texture(48, 64, seed=3), _texture(48, 64, seed=4)
    stabilizer = TemporalStabilizer()
    assert stabilizer(first, first * 0.5)[1]  # the first frame starts afresh
    _, cut = stabilizer(first, first * 0.6)
    assert not cut
    output, cut = stabilizer(second, second * 0.7)
    assert cut and np.array_equal(output, second * 0.7)


def test_stability_zero_is_per_frame():
    stabilizer = TemporalStabilizer(TemporalSettings(stability=0.0))
    a, b = _texture(16, 16), _texture(16, 16, seed=5)
    stabilizer(a, a)
    assert np.array_equal(stabilizer(b, b * 0.3)[0], b * 0.3)
    with pytest.raises(ValueError, match="stability"):
        TemporalSettings(stability=1.5)


def test_bad_clips_are_refused_before_any_model_loads(tmp_path, photo_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    with pytest.raises(VideoError, match="not a readable video"):
        probe_video(str(text))
    with pytest.raises(VideoError, match="not a readable video"):  # a still image is not a clip
        probe_video(photo_path)
    with pytest.raises(VideoError, match="no such file"):
        probe_video(str(tmp_path / "missing.mp4"))
    os.mkfifo(tmp_path / "pipe.mp4")
    with pytest.raises(VideoError, match="not a regular file"):
        probe_video(str(tmp_path / "pipe.mp4"))


def test_outputs_are_never_clobbered_or_left_half_written(pan_clip, tmp_path):
    before = open(pan_clip, "rb").read()
    with pytest.raises(VideoError, match="refusing to overwrite the input"):
        stylize_video(pan_clip, pan_clip, "udnie", overwrite=True)
    existing = tmp_path / "taken.mp4"
    existing.write_bytes(b"mine")
    with pytest.raises(VideoError, match="already exists"):
        stylize_video(pan_clip, str(existing), "udnie")
    assert existing.read_bytes() == b"mine" and open(pan_clip, "rb").read() == before
    with pytest.raises(VideoError, match="cannot write .avi"):
        stylize_video(pan_clip, str(tmp_path / "out.avi"), "udnie")
    with pytest.raises(StyleError, match="unknown style"):
        stylize_video(pan_clip, str(tmp_path / "out.mp4"), "no_such_style")

    def fails_midway(rgb, count=[0]):
        count[0] += 1
        if count[0] == 5:
            raise RuntimeError("disk full")
        return rgb

    with pytest.raises(RuntimeError):
        transcode_frames(pan_clip, tmp_path / "half.mp4", fails_midway)
    assert sorted(os.listdir(tmp_path)) == ["pan.mp4", "taken.mp4"]


def test_missing_video_extra_names_it(monkeypatch, pan_clip, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    with pytest.raises(MissingExtra, match=r"cin-style\[video\]"):
        probe_video(pan_clip)


def test_cli_video_json_and_errors(pan_clip, tmp_path, capsys):
    out = str(tmp_path / "styled.mp4")
    assert main(["video", pan_clip, "--style", "great_wave", "--stability", "0.5", "-o", out, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["frames"] == 18 and record["width"] == 64 and record["audio"] == "aac"
    assert main(["video", pan_clip, "--style", "great_wave", "-o", out]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["video", pan_clip, "--style", "grate_wave", "-o", str(tmp_path / "b.mp4")]) == 2
    assert "did you mean 'great_wave'" in capsys.readouterr().err
    assert main(["video", pan_clip, "-o", str(tmp_path / "c.mp4")]) == 2
    assert "say which style" in capsys.readouterr().err
    assert main(["video", pan_clip, "--style", "udnie", "--device", "gpu", "-o", str(tmp_path / "c.mp4")]) == 2
    assert "runtime (LiteRT) runs on the CPU" in capsys.readouterr().err
    mask = tmp_path / "mask.png"
    from PIL import Image

    Image.new("L", (10, 10), 255).save(mask)
    assert main(["video", pan_clip, "--style", "udnie", "--mask", str(mask), "--style-outside", "great_wave",
                 "-o", str(tmp_path / "d.mp4")]) == 2
    assert "does not match the video's frames (64x48)" in capsys.readouterr().err
    assert not any(name in os.listdir(tmp_path) for name in ("b.mp4", "c.mp4", "d.mp4"))


def test_cli_video_with_a_mask(pan_clip, tmp_path, capsys):
    from PIL import Image

    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255
    Image.fromarray(mask).save(tmp_path / "left.png")
    out = str(tmp_path / "halves.mp4")
    assert main(["video", pan_clip, "--style", "udnie", "--mask", str(tmp_path / "left.png"), "--style-outside",
                 "great_wave", "--feather", "2", "-o", out]) == 0
    both = _frames(out)[3].astype(float)
    udnie_only = str(tmp_path / "udnie.mp4")
    stylize_video(pan_clip, udnie_only, "udnie")
    left = _frames(udnie_only)[3].astype(float)
    assert np.abs(both[:, :24] - left[:, :24]).mean() < np.abs(both[:, 40:] - left[:, 40:]).mean()
