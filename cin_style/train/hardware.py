"""What the machine's processor can do fast, for choosing a training precision.

bfloat16 mixed precision pays only where the hardware multiplies bfloat16 matrices
faster than float32 ones. On the 2-core machines measured (docs/benchmarks.md, training
throughput and precision): much faster with AMX-BF16; faster with AMD's AVX512-BF16, whose dot
products run at full width; *slower* on an Intel part with AVX512-BF16 but no AMX; several times
slower with AVX2 alone, where TensorFlow emulates bf16.

So ``--precision auto`` takes bf16 with AMX-BF16, with AVX512-BF16 on an AMD processor, with
Arm BF16 (not measured here; the matrix instructions BFMMLA are what TensorFlow's Arm kernels
use), or with a GPU.
"""

from __future__ import annotations

import functools

import tensorflow as tf

# x86 ``amx_bf16``; Arm ``bf16`` (FEAT_BF16). ``avx512_bf16`` alone only on AMD (see above).
_FAST_BF16_CPU_FLAGS = frozenset({"amx_bf16", "bf16"})


def _cpuinfo_words(cpuinfo_text: str, keys: tuple[str, ...]) -> frozenset[str]:
    """The words of every ``/proc/cpuinfo`` line whose key (case-insensitive) is one of ``keys``."""
    words: set[str] = set()
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in keys:
            words.update(value.split())
    return frozenset(words)


def cpu_flags(cpuinfo_text: str) -> frozenset[str]:
    """The feature flags named in ``/proc/cpuinfo`` text (x86 ``flags``, Arm ``Features``)."""
    return _cpuinfo_words(cpuinfo_text, ("flags", "features"))


def cpu_has_fast_bfloat16(cpuinfo_text: str) -> bool:
    """Whether ``cpuinfo_text`` names bfloat16 instructions that make bf16 training faster than
    float32 (AMX-BF16, Arm BF16, or AVX512-BF16 on an AMD processor)."""
    flags = cpu_flags(cpuinfo_text)
    amd = "AuthenticAMD" in _cpuinfo_words(cpuinfo_text, ("vendor_id",))
    return bool(flags & _FAST_BF16_CPU_FLAGS) or (amd and "avx512_bf16" in flags)


@functools.lru_cache(maxsize=1)
def bfloat16_training_pays() -> bool:
    """True when a GPU is visible or the CPU has fast bfloat16 matrix instructions.

    Reads ``/proc/cpuinfo``; where it cannot be read (not Linux) the answer is False:
    float32 at worst forgoes a 1.5-2.3x gain, bf16 where it does not pay ran 1.6-6.7x slower.
    """
    if tf.config.list_physical_devices("GPU"):
        return True
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            return cpu_has_fast_bfloat16(handle.read())
    except OSError:
        return False
