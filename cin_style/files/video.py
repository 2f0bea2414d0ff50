"""Reading and writing video with PyAV (FFmpeg's libraries): frames in, frames out, the rest kept.

:func:`transcode_frames` decodes a clip, hands every frame to a function as [H, W, 3] uint8 RGB and
encodes what it returns into a new file with the same frame count, timestamps (so the same frame rate,
variable rates included), size and audio (copied as it is where the output container takes its codec,
re-encoded otherwise). The output appears only when it is complete (a temporary file, then a rename);
a failure leaves nothing behind. Needs the ``[video]`` extra.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from cin_style.errors import VideoError
from cin_style.files import PathLike, check_input_file
from cin_style.files.atomic import atomic_write
from cin_style.optional_deps import import_video_module

__all__ = ["VideoInfo", "probe_video", "check_video_output", "check_video_destination", "transcode_frames",
           "VIDEO_OUTPUT_FORMATS", "DEFAULT_MAX_FRAME_PIXELS"]

#: Frames with more pixels are refused before decoding (an 8K frame has 33 million).
DEFAULT_MAX_FRAME_PIXELS = 40_000_000

#: Output extension -> (FFmpeg container, video encoder, audio encoder when the audio must be re-encoded,
#: audio codecs the container takes as they are).
VIDEO_OUTPUT_FORMATS: dict[str, tuple[str, str, str, frozenset[str]]] = {
    ".mp4": ("mp4", "libx264", "aac", frozenset({"aac", "mp3", "alac", "opus", "flac", "ac3"})),
    ".mov": ("mov", "libx264", "aac", frozenset({"aac", "mp3", "alac", "pcm_s16le", "pcm_s24le", "ac3"})),
    ".mkv": ("matroska", "libx264", "aac",
             frozenset({"aac", "mp3", "opus", "vorbis", "flac", "ac3", "pcm_s16le", "pcm_s24le", "alac"})),
    ".webm": ("webm", "libvpx-vp9", "libopus", frozenset({"opus", "vorbis"})),
}
#: The only demuxers FFmpeg may run on an input, whatever its name, and only on local files: no playlists
#: (HLS, concat), which could make a crafted clip read other files; no text or still-image "videos".
_INPUT_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,ogg,asf,gif,h264,hevc,mjpeg"
_ALLOWED_INPUTS = "MP4, MOV, MKV, WebM, AVI, MPEG-TS, MPEG, FLV, Ogg, WMV, animated GIF"
_QUALITY_OPTIONS = {"libx264": {"crf": "18", "preset": "medium"}, "libvpx-vp9": {"crf": "30", "b": "0"}}


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a clip's header says.

    Attributes:
      width, height: frame size in pixels.
      frame_rate: average frames per second (a Fraction), as the container states it.
      frames: the frame count the container states, or 0 where it states none.
      duration_s: length in seconds (0.0 where unknown).
      audio: the audio codec's name, or None for a silent clip.
    """

    width: int
    height: int
    frame_rate: Fraction
    frames: int
    duration_s: float
    audio: str | None


def _av() -> Any:
    return import_video_module("av", "PyAV (av)")


def _open_input(path: str) -> Any:
    av = _av()
    check_input_file(path, "video", VideoError)
    try:
        container = av.open(path, mode="r",
                            options={"format_whitelist": _INPUT_FORMATS, "protocol_whitelist": "file"})
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError(f"{path}: not a readable video (allowed: {_ALLOWED_INPUTS}; the format is read from the "
                         f"bytes, not the name)") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
    return container


def _info(container: Any, path: str, max_pixels: int) -> VideoInfo:
    video = container.streams.video[0]
    width, height = video.codec_context.width, video.codec_context.height
    if width < 1 or height < 1:
        raise VideoError(f"{path}: the video stream declares no frame size")
    if width * height > max_pixels:
        raise VideoError(f"{path}: frames of {width}x{height} = {width * height} pixels exceed the limit of "
                         f"{max_pixels} (raise max_pixels if you trust this file)")
    rate = video.average_rate or video.guessed_rate or Fraction(25)
    duration = float(container.duration / 1_000_000) if container.duration else 0.0
    audio = container.streams.audio[0].codec_context.codec.canonical_name if container.streams.audio else None
    return VideoInfo(width, height, Fraction(rate), int(video.frames or 0), duration, audio)


def probe_video(path: PathLike, max_pixels: int = DEFAULT_MAX_FRAME_PIXELS) -> VideoInfo:
    """Reads a clip's header (no frames are decoded). Raises VideoError for what cannot be a usable clip."""
    path = os.fspath(path)
    container = _open_input(path)
    try:
        return _info(container, path, max_pixels)
    finally:
        container.close()


def check_video_output(path: PathLike) -> str:
    """The extension of ``path`` (lower case) if a video can be written there; VideoError naming the allowed
    ones otherwise. Cheap: callers check before any work."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in VIDEO_OUTPUT_FORMATS:
        raise VideoError(f"{path}: cannot write {extension or 'files without an extension'} video; "
                         f"use one of {', '.join(sorted(VIDEO_OUTPUT_FORMATS))}")
    if os.path.isdir(path):
        raise VideoError(f"{path}: is a folder; give the output video's file name")
    return extension


def check_video_destination(source: PathLike, destination: PathLike, overwrite: bool) -> str:
    """:func:`check_video_output`, and that ``destination`` is not the input and exists only with
    ``overwrite``. Returns the extension."""
    source, destination = os.fspath(source), os.fspath(destination)
    extension = check_video_output(destination)
    if os.path.exists(destination) and os.path.exists(source) and os.path.samefile(source, destination):
        raise VideoError(f"{destination}: refusing to overwrite the input video")
    if os.path.lexists(destination) and not overwrite:
        raise VideoError(f"{destination}: already exists (pass overwrite=True / --overwrite to replace it)")
    return extension


FrameFunction = Callable[[np.ndarray], np.ndarray]


def transcode_frames(source: PathLike, destination: PathLike, process: FrameFunction, *, overwrite: bool = False,
                     max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
                     progress: Callable[[int, int], None] | None = None) -> tuple[VideoInfo, int]:
    """Writes ``destination``: every video frame of ``source`` through ``process``, audio and timing kept.

    Args:
      source: the input clip.
      destination: the output file; its extension picks the container and codecs
        (:data:`VIDEO_OUTPUT_FORMATS`). Never the input.
      process: [H, W, 3] uint8 RGB -> [H, W, 3] uint8 RGB of the same size, called once per frame in order.
      overwrite: replace an existing ``destination``; otherwise an existing file is an error.
      max_pixels: frames with more pixels are refused before decoding.
      progress: called with (frames done, frames the header states or 0).

    Returns:
      (the input's :class:`VideoInfo`, frames written).

    Raises:
      VideoError: unreadable input, a frame that cannot be decoded, an output that exists or cannot be
        written. Nothing is left at ``destination`` on any failure.
    """
    source, destination = os.fspath(source), os.fspath(destination)
    extension = check_video_destination(source, destination, overwrite)
    av = _av()
    container = _open_input(source)
    try:
        info = _info(container, source, max_pixels)
        with atomic_write(destination, extension, overwrite=overwrite) as handle:
            written = _transcode(av, container, info, handle, extension, process, progress)
    except FileExistsError:
        raise VideoError(f"{destination}: already exists; it appeared while the video was written and was left "
                         "as it was (pass overwrite=True / --overwrite to replace it)") from None
    except av.FFmpegError as exc:
        raise VideoError(f"{source} -> {destination}: {exc}") from None
    finally:
        container.close()
    return info, written


def _transcode(av: Any, container: Any, info: VideoInfo, handle: Any, extension: str, process: FrameFunction,
               progress: Callable[[int, int], None] | None) -> int:
    muxer, video_codec, audio_codec, copyable = VIDEO_OUTPUT_FORMATS[extension]
    video_in = container.streams.video[0]
    audio_in = container.streams.audio[0] if container.streams.audio else None
    with av.open(handle, mode="w", format=muxer) as output:
        video_out = output.add_stream(video_codec, rate=info.frame_rate, options=_QUALITY_OPTIONS.get(video_codec))
        video_out.width, video_out.height = info.width, info.height
        # 4:2:0 halves the colour resolution and needs even sides; odd sizes keep full colour instead.
        even = info.width % 2 == 0 and info.height % 2 == 0
        video_out.pix_fmt = "yuv420p" if even else "yuv444p"
        video_out.time_base = video_in.time_base or Fraction(1, 90_000)
        audio = _AudioPath(av, output, audio_in, audio_codec, copyable) if audio_in is not None else None
        streams = [video_in] + ([audio_in] if audio_in is not None else [])
        written = 0
        for packet in container.demux(*streams):
            if audio is not None and packet.stream.type == "audio":
                audio.packet(packet)
                continue
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                raise VideoError(f"frame {written + 1} cannot be decoded ({exc})") from None
            for frame in frames:
                written = _write_frame(av, frame, video_out, output, info, process, written)
                if progress:
                    progress(written, info.frames)
        for packet in video_out.encode():
            output.mux(packet)
        if audio is not None:
            audio.flush()
    return written


def _write_frame(av: Any, frame: Any, video_out: Any, output: Any, info: VideoInfo, process: FrameFunction,
                 written: int) -> int:
    # Frames whose size changes mid-stream are scaled to the size the header states.
    rgb = frame.to_ndarray(format="rgb24", width=info.width, height=info.height)
    result = np.asarray(process(rgb))
    if result.shape != rgb.shape or result.dtype != np.uint8:
        raise ValueError(f"the frame function returned {result.shape} {result.dtype}; expected {rgb.shape} uint8")
    styled = av.VideoFrame.from_ndarray(np.ascontiguousarray(result), format="rgb24")
    styled.pts = frame.pts if frame.pts is not None else written
    styled.time_base = frame.time_base or video_out.time_base
    for packet in video_out.encode(styled):
        output.mux(packet)
    return written + 1


class _AudioPath:
    """The input's audio into the output: packets copied where the container takes the codec, else decoded
    and re-encoded (resampled to what the encoder takes, in frames of its size)."""

    def __init__(self, av: Any, output: Any, audio_in: Any, codec: str, copyable: frozenset[str]):
        self.av, self.output = av, output
        self.copy = audio_in.codec_context.codec.canonical_name in copyable
        if self.copy:
            self.stream = output.add_stream_from_template(audio_in)
            return
        rate = 48_000 if codec == "libopus" else audio_in.rate
        self.stream = output.add_stream(codec, rate=rate)
        layout = audio_in.layout.name if audio_in.layout.nb_channels <= 2 else "stereo"
        self.stream.layout = layout
        sample_format = self.stream.codec_context.codec.audio_formats[0].name
        self.resampler = av.AudioResampler(format=sample_format, layout=layout, rate=rate)
        self.fifo = av.AudioFifo()
        self.frame_size = 0

    def packet(self, packet: Any) -> None:
        if packet.dts is None:  # a flush packet of the demuxer
            return
        if self.copy:
            packet.stream = self.stream
            self.output.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None
            for resampled in self.resampler.resample(frame):
                self.fifo.write(resampled)
        self._encode_full_frames()

    def _encode_full_frames(self, final: bool = False) -> None:
        size = self.stream.codec_context.frame_size or 1024
        while self.fifo.samples >= size or (final and self.fifo.samples):
            frame = self.fifo.read(min(size, self.fifo.samples) if final else size)
            frame.pts = None
            for packet in self.stream.encode(frame):
                self.output.mux(packet)

    def flush(self) -> None:
        if self.copy:
            return
        for resampled in self.resampler.resample(None):
            self.fifo.write(resampled)
        self._encode_full_frames(final=True)
        for packet in self.stream.encode(None):
            self.output.mux(packet)
