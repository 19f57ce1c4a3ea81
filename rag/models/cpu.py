"""What the processor can do natively, for choosing how to run the generator.

transformers in bfloat16 is the fastest path on a CPU with native bfloat16 arithmetic (AVX512-BF16 or
AMX), and ~8x slower than llama.cpp where the arithmetic is emulated (AVX2 only): measured on both
kinds of machine with bench/generator_paths.py (docs/measurements.md).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def _cpuinfo(keys: tuple[str, ...], cpuinfo: Path) -> str | None:
    """The first value of one of `keys` in /proc/cpuinfo (Linux); None where it cannot be read."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in keys:
            return value.strip()
    return None


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The processor's feature flags (Linux); empty where they cannot be read."""
    return frozenset((_cpuinfo(("flags", "Features"), cpuinfo) or "").split())


def vector_level(flags: frozenset[str]) -> str:
    """The widest vector arithmetic the flags name: what the generator's speed depends on."""
    if flags & BFLOAT16_FLAGS:
        return "AVX512-BF16"
    return next(
        (name for flag, name in (("avx512f", "AVX-512, no BF16"), ("avx2", "AVX2 only")) if flag in flags), "no AVX2"
    )


def describe(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor in one line, for every figure measured on it: "Intel(R) Xeon(R) Processor, 2 cores,
    AVX512-BF16". Sessions' machines differ, and so do their speeds and the runtime `auto` picks."""
    name = _cpuinfo(("model name", "Model name"), cpuinfo) or "unknown CPU"
    return f"{name}, {os.cpu_count()} cores, {vector_level(cpu_flags(cpuinfo))}"


@cache
def native_bfloat16() -> bool:
    return bool(cpu_flags() & BFLOAT16_FLAGS)
