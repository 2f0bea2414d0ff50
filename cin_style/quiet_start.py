"""Starting the native libraries (TensorFlow, LiteRT) without their start-up noise on stderr.

TensorFlow's pip wheels carry CUDA support. On a machine without a GPU their C++
start-up writes, before any logging is configured and whatever
``TF_CPP_MIN_LOG_LEVEL`` says (TensorFlow 2.21), lines such as::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    E0000 00:00:... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: ...

on every command. :func:`start_tensorflow` captures the process's stderr (file
descriptor 2, where C++ writes) while TensorFlow loads and lists its devices, drops
those known lines and passes every other line on. If loading fails, everything
captured is passed on before the error propagates. A user who sets
``TF_CPP_MIN_LOG_LEVEL`` below 2 asked for TensorFlow's logs and gets them untouched
(also the way to see why a GPU that should be there is not used).

LiteRT writes ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` whenever an interpreter
is created, and offers no switch for it; the runtime creates its interpreters inside
:func:`run_with_filtered_stderr` too (other threads' stderr output in that moment is passed on).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")

__all__ = ["start_tensorflow", "run_with_filtered_stderr", "drop_startup_noise"]

# Lines TensorFlow's CUDA-enabled wheels print on machines without a usable GPU, and LiteRT's delegate notice.
_NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|^[IWE]\d{4} [\d:. ]+\d+ (cudart_stub|cuda_platform)\.cc:\d+\] "
    r"|^I\d{4} [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on"
    r"|^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$")


def drop_startup_noise(text: str) -> str:
    """``text`` without TensorFlow's GPU-probing start-up lines (see the module docstring)."""
    return "".join(line for line in text.splitlines(keepends=True) if not _NOISE.match(line.rstrip("\n")))


def run_with_filtered_stderr(function: Callable[[], Result]) -> Result:
    """Calls ``function()`` with file descriptor 2 captured; writes the captured text back to
    stderr without the start-up noise (all of it if ``function`` raises) and returns its result."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to filter (closed descriptor)
        return function()
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = True
        try:
            result = function()
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            text = text if failed else drop_startup_noise(text)
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()
    return result


def _load_tensorflow():
    import tensorflow as tf

    tf.config.list_physical_devices()  # probes the GPU platforms now, inside the capture
    return tf


def start_tensorflow() -> None:
    """Imports TensorFlow (the command line calls this before its first TensorFlow work):
    INFO and WARNING logs off unless ``TF_CPP_MIN_LOG_LEVEL`` says otherwise, and the
    GPU-probing start-up lines dropped."""
    if "tensorflow" in sys.modules:
        return
    requested = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if requested is not None and requested.strip() in ("0", "1"):
        _load_tensorflow()
        return
    run_with_filtered_stderr(_load_tensorflow)
