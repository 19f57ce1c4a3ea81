"""What the processor can do natively, for choosing how to run the generator.

transformers in bfloat16 is the fastest path on a CPU with native bfloat16 arithmetic (AVX512-BF16 or
AMX), and ~8x slower than llama.cpp where the arithmetic is emulated (AVX2 only): measured on both
kinds of machine with bench/generator_paths.py (docs/measurements.md).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The processor's feature flags (Linux); empty where they cannot be read."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@cache
def native_bfloat16() -> bool:
    return bool(cpu_flags() & BFLOAT16_FLAGS)
