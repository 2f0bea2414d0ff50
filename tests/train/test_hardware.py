"""Whether bfloat16 training pays, from /proc/cpuinfo text."""

from cin_style.train.hardware import cpu_flags, cpu_has_fast_bfloat16

SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni amx_bf16 amx_tile amx_int8\n"
AVX512_BF16_ONLY = ("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                    "flags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni avx512_fp16\n\nprocessor\t: 1\n")
ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n"
ZEN2 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx avx2 fma f16c\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


def test_flags_are_read_from_x86_and_arm_cpuinfo():
    assert {"avx2", "avx512_bf16"} <= cpu_flags(AVX512_BF16_ONLY)
    assert "i8mm" in cpu_flags(ARM)


def test_bfloat16_pays_only_where_it_was_measured_faster():
    assert cpu_has_fast_bfloat16(SAPPHIRE_RAPIDS)
    assert cpu_has_fast_bfloat16(ARM)
    # Intel's AVX512-BF16 without AMX trained 1.6-1.9x slower in bf16 than in float32 (docs/benchmarks.md)
    assert not cpu_has_fast_bfloat16(AVX512_BF16_ONLY)
    # ... but 1.5x faster on an AMD EPYC with AVX512-BF16 (cin_style/hardware.py)
    assert cpu_has_fast_bfloat16(ZEN4)
    assert not cpu_has_fast_bfloat16(ZEN2)
    assert not cpu_has_fast_bfloat16("")
