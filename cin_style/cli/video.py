"""``cin-style video``: a clip stylized frame by frame, held steady across frames, timing and audio kept."""

from __future__ import annotations

import argparse
import json
import sys

from cin_style.cli.common import (DEVICES, EXIT_OK, SubCommands, UsageError, add_parser, bounded, choose_device,
                                  show_fit_progress)

NEGATABLE: set[str] = set()


def register(commands: SubCommands) -> None:
    parser = add_parser(
        commands, "video", help="stylize a video (steady across frames; frame rate, size and audio kept)",
        description="Stylize every frame of a video. Each frame holds on to the previous output where the motion "
                    "of the input explains it, so the strokes do not flicker; a scene cut starts afresh. The "
                    "output keeps the input's frames, timing, size and audio. Needs the [video] extra: "
                    "pip install 'cin-style[video]'.\n\n"
                    "  cin-style video walk.mp4 --style starry_night -o walk_starry.mp4\n"
                    "  cin-style video walk.mp4 --style 'udnie=0.6,great_wave=0.4' --preserve-color -o walk.webm")
    parser.add_argument("input", help="the video (MP4, MOV, MKV, WebM, AVI: anything FFmpeg reads)")
    parser.add_argument("-o", "--output", required=True,
                        help="the new video; .mp4, .mov, .mkv (H.264) or .webm (VP9)")
    parser.add_argument("-s", "--style",
                        help="a style name or index, or a blend like 'starry_night=0.7,great_wave=0.3'")
    parser.add_argument("--style-image", help="any picture as the style (learnt first; needs the [train] extra)")
    parser.add_argument("--stability", type=bounded(float, 0.0, 0.95), default=0.8,
                        help="how strongly each frame holds on to the previous one where motion explains it; "
                             "0 = every frame on its own (flickers)")
    parser.add_argument("--strength", type=bounded(float, 0.0, 1.0), default=1.0, help="0 = the video, 1 = full style")
    parser.add_argument("--preserve-color", action="store_true", help="keep the video's colours")
    parser.add_argument("--style-scale", default="auto", help="stroke size relative to the frame (as for stylize)")
    parser.add_argument("--mask", help="a picture the size of the frames: --style where white, --style-outside where "
                                       "black, the same in every frame")
    parser.add_argument("--style-outside", help="style for the black part of --mask")
    parser.add_argument("--feather", type=bounded(float, 0.0, 1000.0), default=8.0, help="soften mask edges (pixels)")
    parser.add_argument("--model", help="a model folder of your own (TensorFlow backend)")
    parser.add_argument("--tflite-model", help="a .tflite file made by `cin-style export` (default: the bundled one)")
    parser.add_argument("--threads", type=bounded(int, 1, 1024), help="LiteRT threads (default: every usable CPU)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto; cpu; gpu (with --model or --style-image, the TensorFlow backend; refused where "
                             "there is none)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--json", action="store_true", help="print one JSON object (input, output, frames, size, "
                                                             "frame rate, audio, scene cuts, seconds)")
    parser.set_defaults(handler=run_video, needs_tensorflow=lambda args: bool(args.model or args.style_image),
                        preflight=_preflight)


def _preflight(args: argparse.Namespace) -> None:
    """Everything that can be checked before a model loads: the clip's header, the output, the options."""
    from cin_style.errors import StyleError
    from cin_style.files.images import load_image
    from cin_style.files.video import check_video_destination, probe_video
    from cin_style.stylization.controls import resolve_style_scale

    if not (args.style or args.style_image):
        raise UsageError("say which style: --style NAME (see `cin-style styles`), or --style-image PICTURE")
    if args.model and args.tflite_model:
        raise UsageError("give --model (a model folder) or --tflite-model (a runtime file), not both")
    if args.style_image and args.tflite_model:
        raise UsageError("--style-image needs the TensorFlow backend: a .tflite file's styles are fixed")
    if bool(args.mask) != bool(args.style_outside):
        raise UsageError("--mask and --style-outside go together")
    try:
        resolve_style_scale(args.style_scale, 1, 1)
    except StyleError as exc:
        raise UsageError(f"--style-scale: {exc}") from None
    info = probe_video(args.input)
    check_video_destination(args.input, args.output, args.overwrite)
    if args.mask:
        mask = load_image(args.mask)
        if mask.size != (info.width, info.height):
            raise UsageError(f"--mask {args.mask}: {mask.size[0]}x{mask.size[1]} does not match the video's frames "
                             f"({info.width}x{info.height})")
    if args.style_image:
        load_image(args.style_image)


def run_video(args: argparse.Namespace) -> int:
    from cin_style.files.images import load_image
    from cin_style.stylization.video import stylize_video

    choose_device(args.device, "tf" if args.model or args.style_image else "tflite")
    regions = None
    if args.mask:
        mask = load_image(args.mask).rgb.mean(axis=2)
        regions = [(mask, args.style or _picture_name(args)), (1.0 - mask, args.style_outside)]
    progress = _Progress()
    try:
        result = stylize_video(args.input, args.output, None if regions else args.style, regions=regions,
                               preserve_color=args.preserve_color, strength=args.strength,
                               feather_px=args.feather, style_scale=args.style_scale,
                               stability=args.stability, model=args.model, tflite_model=args.tflite_model,
                               num_threads=args.threads, style_image=args.style_image, overwrite=args.overwrite,
                               progress=progress, fit_progress=show_fit_progress)
    finally:
        progress.close()
    record = {"input": args.input, "output": result.output, "frames": result.frames, "width": result.width,
              "height": result.height, "frame_rate": float(result.frame_rate), "audio": result.audio,
              "scene_cuts": result.scene_cuts, "seconds": round(result.seconds, 3)}
    if args.json:
        print(json.dumps(record))
    else:
        audio = f", audio {result.audio} kept" if result.audio else ""
        print(f"{result.output}: {result.frames} frames, {result.width}x{result.height} at "
              f"{float(result.frame_rate):.3g} fps{audio}, {result.scene_cuts} scene cuts, {result.seconds:.1f} s")
    return EXIT_OK


def _picture_name(args: argparse.Namespace) -> str:
    from cin_style.train.style_fit import style_name_for

    return style_name_for(args.style_image, [])


class _Progress:
    """A bar on stderr, rewritten in place on a terminal (a line every 10% otherwise)."""

    def __init__(self) -> None:
        self.interactive = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            line = f"  frames {done}"
            step = done // 100
        else:
            width = 30
            filled = width * min(done, total) // total
            line = f"  frames [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            step = 10 * done // total
        if self.interactive:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif step != self.shown:
            print(line, file=sys.stderr, flush=True)
        self.shown = step

    def close(self) -> None:
        if self.interactive and self.shown >= 0:
            print(file=sys.stderr)
