"""Detection of native bfloat16 arithmetic from /proc/cpuinfo text."""

from cin_style.hardware import cpu_flags, cpu_has_native_bfloat16

ZEN5 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n\nprocessor\t: 1\n"
ZEN2 = "processor\t: 0\nflags\t\t: fpu sse avx avx2 fma f16c\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


def test_flags_are_read_from_x86_and_arm_cpuinfo():
    assert {"avx2", "avx512_bf16"} <= cpu_flags(ZEN5)
    assert "i8mm" in cpu_flags(ARM)


def test_bfloat16_is_native_only_where_the_instructions_exist():
    assert cpu_has_native_bfloat16(ZEN5)
    assert cpu_has_native_bfloat16(ARM)
    assert not cpu_has_native_bfloat16(ZEN2)
    assert not cpu_has_native_bfloat16("")
