"""The CPU family a run computes on: what selects TensorFlow's (oneDNN's) kernels.

Training is bit-identical from run to run on one machine (seeds, op determinism, fixed
threads), but oneDNN picks its kernels by instruction set, so another CPU family can train
differently in the last digits, and a grade near a threshold can differ (README,
"Determinism"). These facts go into every result's `extra_data`, into the reference cache's
key (a reference run on one family is never reused on another), and the distributed mode
warns when a Dask worker's family differs from the grading machine's.
"""

from __future__ import annotations

import os

ISA_FLAGS = frozenset({
    "avx", "avx2", "fma", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
    "amx_tile", "amx_bf16", "amx_int8",
})  # fmt: skip
"""CPU features that select oneDNN's kernels."""

ISA_ENV = "ONEDNN_MAX_CPU_ISA"
"""oneDNN's cap on the instruction set it uses (e.g. `AVX2`): passed into the sandbox, so
that a whole grading run, tests included, can be forced onto another family's kernels."""


def _cpuinfo() -> tuple[str, str, list[str]]:
    vendor = model = ""
    flags: list[str] = []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = value.split()
                if vendor and model and flags:
                    break
    except OSError:
        pass
    return vendor, model, flags


def cpu_features() -> list[str]:
    """This machine's `ISA_FLAGS`, from /proc/cpuinfo (empty where there is none)."""
    return sorted(ISA_FLAGS.intersection(_cpuinfo()[2]))


def cpu_family() -> dict[str, object]:
    """Vendor, model name, the kernel-selecting features, and oneDNN's cap if one is set."""
    vendor, model, _ = _cpuinfo()
    return {
        "vendor": vendor or "unknown",
        "model": model or "unknown",
        "isa": cpu_features(),
        "onednn_max_cpu_isa": os.environ.get(ISA_ENV) or None,
    }


def cpu_label(family: dict[str, object] | None = None) -> str:
    """One line for reports: `AMD EPYC (avx2, avx512f, ...; oneDNN capped at AVX2)`."""
    family = family or cpu_family()
    isa = ", ".join(map(str, family.get("isa") or ())) or "no AVX"
    cap = family.get("onednn_max_cpu_isa")
    return f"{family.get('model')} ({isa}{f'; oneDNN capped at {cap}' if cap else ''})"
