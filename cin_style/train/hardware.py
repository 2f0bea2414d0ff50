"""What the machine's processor can do fast, for choosing a training precision.

bfloat16 mixed precision pays only where the hardware multiplies bfloat16 matrices
faster than float32 ones. Measured on 2-core machines (``tools/benchmark.py --what
train``, full network, 256 px, batch 4; README, "Benchmarks"):

- Xeon with AMX-BF16: bf16 4.08 images/s against float32 1.78 (2.3x faster).
- Xeon with AVX512-BF16 but no AMX: bf16 0.69 against float32 1.13 (1.6x *slower*; 1.9x in
  another run).
- AMD EPYC with AVX512-BF16, no AMX (Zen 4 class): bf16 1.51-1.55 images/s against float32
  1.02-1.03 (1.5x *faster*; ``cin-style train`` from the bundled model, 256 px crops, batch 4,
  40 steps each, nothing beside). AMD's AVX512-BF16 dot products run at full width, where the
  Intel part above was slower than its float32 FMAs.
- AVX2 only (no bf16 instructions; TensorFlow emulates bf16): 6.7x slower.

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
