"""``cin-style dataset``: a whole dataset stylized on Apache Beam, resumable through its manifest."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

from cin_style.cli.common import EXIT_OK, EXIT_SOME_FAILED, SubCommands, UsageError, add_parser, bounded

NEGATABLE: set[str] = set()


def register(commands: SubCommands) -> None:
    parser = add_parser(
        commands, "dataset", help="stylize a whole dataset on Apache Beam (resumable; local or a cluster)",
        description="Stylize every image of a dataset with one style or a random style per image, on Apache "
                    "Beam: locally (the default DirectRunner) or on Dataflow, Flink or Spark. Outputs mirror the "
                    "inputs' folders; a manifest (manifest-<run>-*.jsonl in the output folder, one JSON line per "
                    "input: input, output, style, status, error) lets a rerun skip what is done. A bad input is "
                    "recorded as failed and never stops the job. Needs the [dataset] extra: "
                    "pip install 'cin-style[dataset]'.\n\n"
                    "  cin-style dataset photos/ -o stylized/ --random-style --seed 7\n"
                    "  cin-style dataset uris.txt -o gs://bucket/out --style udnie --runner DataflowRunner \\\n"
                    "      --pipeline-options '--project=P --region=europe-west1 --temp_location=gs://bucket/tmp'")
    parser.add_argument("sources", nargs="+",
                        help="folders (their images, recursively), globs or URIs (gs://..., s3://...), or .txt "
                             "files listing one path or URI a line")
    parser.add_argument("-o", "--output-dir", required=True, help="the output folder or URI")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("-s", "--style", help="one style for every image: a name, an index or a blend such as "
                                             "'starry_night=0.7,great_wave=0.3'")
    which.add_argument("--random-style", nargs="?", const="", metavar="NAMES",
                       help="a random style per image, drawn by --seed and the input alone (the same on every "
                            "rerun); optionally only among NAMES (comma-separated)")
    parser.add_argument("--seed", type=bounded(int, 0, 2**63 - 1), default=0, help="seed of --random-style")
    parser.add_argument("--format", choices=["jpg", "png", "webp"], default="jpg", help="output format")
    parser.add_argument("--strength", type=bounded(float, 0.0, 1.0), default=1.0, help="0 = photo, 1 = full style")
    parser.add_argument("--preserve-color", action="store_true", help="keep each photo's colours")
    parser.add_argument("--style-scale", default="auto", help="stroke size relative to the image (as for stylize)")
    parser.add_argument("--tflite-model", help="a .tflite file made by `cin-style export` (default: the bundled one)")
    parser.add_argument("--threads", type=bounded(int, 1, 1024), help="LiteRT threads per worker (default: every "
                                                                       "usable CPU)")
    parser.add_argument("--max-pixels", type=bounded(int, 1, 10**10), default=None,
                        help="refuse inputs with more pixels (default: 150 million)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace files in the output folder that no manifest records as done")
    parser.add_argument("--runner", default="DirectRunner", help="the Beam runner (default: DirectRunner, local)")
    parser.add_argument("--pipeline-options", default="", metavar="'--opt=value ...'",
                        help="more Beam pipeline options, in one quoted string")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(handler=run_dataset, needs_tensorflow=lambda args: False, preflight=_preflight)


def _preflight(args: argparse.Namespace) -> None:
    from cin_style.stylization.controls import resolve_style_scale
    from cin_style.errors import StyleError

    try:
        resolve_style_scale(args.style_scale, 1, 1)
        args.pipeline_args = shlex.split(args.pipeline_options) + [f"--runner={args.runner}"]
    except (StyleError, ValueError) as exc:
        raise UsageError(f"--style-scale / --pipeline-options: {exc}") from None
    if args.tflite_model and not os.path.isfile(args.tflite_model):
        raise UsageError(f"--tflite-model {args.tflite_model}: no such file")


def _local(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)


def run_dataset(args: argparse.Namespace) -> int:
    from cin_style.dataset.pipeline import DatasetOptions, import_beam, list_inputs, stylize_dataset
    from cin_style.dataset.plan import fixed_style, random_style
    from cin_style.files.images import DEFAULT_MAX_PIXELS
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    import_beam()  # the missing extra is named before anything else
    names = TFLiteStylizer(args.tflite_model, num_threads=1).style_names
    if args.style is not None:
        fixed = fixed_style(args.style, names)  # a bad style is a usage error, before any work
        style_of = lambda uri: fixed  # noqa: E731
    else:
        pool = [n.strip() for n in args.random_style.split(",") if n.strip()]
        unknown = sorted(set(pool) - set(names))
        if unknown:
            raise UsageError(f"--random-style: unknown styles {unknown}; known: {', '.join(names)}")
        style_of = lambda uri: random_style(uri, names, args.seed, pool)  # noqa: E731
    inputs = list_inputs([_local(s) for s in args.sources])
    options = DatasetOptions(tflite_model=args.tflite_model, num_threads=args.threads, strength=args.strength,
                             preserve_color=args.preserve_color, style_scale=_style_scale(args.style_scale),
                             max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS)
    summary = stylize_dataset(inputs, _local(args.output_dir), style_of, "." + args.format, options,
                              args.pipeline_args, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['done']} stylized, {summary['skipped']} already done, {summary['failed']} failed, "
              f"{summary['seconds']:.1f} s; manifest {summary['manifest']}")
        for failure in summary["failures"][:20]:
            print(f"  failed: {failure['input']}: {failure['error']}", file=sys.stderr)
    return EXIT_SOME_FAILED if summary["failed"] else EXIT_OK


def _style_scale(value: str) -> float | str:
    return value if value == "auto" else float(value)
