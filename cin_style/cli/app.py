"""``cin-style app``: the local page and HTTP API (the ``[app]`` extra)."""

from __future__ import annotations

import argparse
import sys

from cin_style.cli.common import EXIT_OK, SubCommands, UsageError, add_parser, bounded
from cin_style.errors import MissingExtra

NEGATABLE: set[str] = set()
APP_EXTRA = "pip install 'cin-style[app]'"


def register(commands: SubCommands) -> None:
    parser = add_parser(
        commands, "app", help="a local web page to try, blend and paint styles (and an HTTP API)",
        description="Start a local web app: drop or pick a photo, choose styles and blend them with sliders, paint "
                    "regions with their own styles, set strength, colour and stroke scale, download the full-size "
                    "result. The same over HTTP: POST /api/stylize (multipart: image, style, strength, "
                    "preserve_color, style_scale, mask + style_outside) returns a PNG; GET /api/styles lists the "
                    "styles. Needs the [app] extra: pip install 'cin-style[app]'.\n\n"
                    "  cin-style app                     # then open http://127.0.0.1:7860\n"
                    "  curl -F image=@cat.jpg -F style=starry_night:0.7,the_scream:0.3 "
                    "http://127.0.0.1:7860/api/stylize -o cat.png")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; any other lets everyone "
                             "on the network use it)")
    parser.add_argument("--port", type=bounded(int, 1, 65535), default=7860, help="port (default 7860)")
    parser.add_argument("--max-pixels", type=bounded(int, 1, 10**9), default=16_000_000,
                        help="refuse uploads with more pixels (default 16 million)")
    parser.add_argument("--max-upload-mb", type=bounded(int, 1, 4096), default=40, help="largest request, MB")
    parser.add_argument("--workers", type=bounded(int, 1, 64), default=2,
                        help="requests stylized at once (each with its own interpreter; CPUs are shared)")
    parser.add_argument("--tflite-model", help="a .tflite file made by `cin-style export` (default: the bundled one)")
    parser.set_defaults(handler=run_app, needs_tensorflow=lambda args: False)


def run_app(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from cin_style.app.server import create_app
    except ImportError as exc:
        raise MissingExtra(f"app needs Starlette and uvicorn, which the plain install leaves out: {APP_EXTRA}") \
            from exc
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"cin-style app: warning: listening on {args.host}: anyone who can reach this machine on port "
              f"{args.port} can use the app", file=sys.stderr)
    try:
        app = create_app(args.tflite_model, max_pixels=args.max_pixels,
                         max_upload_bytes=args.max_upload_mb * 1024 * 1024, workers=args.workers)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"cin-style app: open http://{shown}:{args.port} (Ctrl+C stops it)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK
