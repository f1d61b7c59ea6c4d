"""The CPU family grades are computed on (grader/machine.py): read from /proc/cpuinfo,
recorded in every result, part of the reference cache's key, and oneDNN's cap passed into
the sandbox so a whole run can be forced onto another family's kernels."""

from __future__ import annotations

import dataclasses

from grader import machine
from grader.config import find_assignment
from grader.run import local as phase1
from grader.run import sandbox_init


def test_cpu_family_reads_this_machine():
    """Are vendor, model and the kernel-selecting features read from /proc/cpuinfo?"""
    family = machine.cpu_family()
    assert set(family) == {"vendor", "model", "isa", "onednn_max_cpu_isa"}
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        text = f.read()
    assert family["vendor"] in text and family["model"] in text
    assert set(family["isa"]) <= machine.ISA_FLAGS
    assert family["isa"] == sorted(family["isa"])
    assert family["model"] in machine.cpu_label(family)


def test_onednn_cap_is_recorded_and_reaches_the_sandbox(monkeypatch):
    """Does ONEDNN_MAX_CPU_ISA show in the family, and in the sandboxed runner's environment?"""
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert machine.cpu_family()["onednn_max_cpu_isa"] == "AVX2"
    assert "oneDNN capped at AVX2" in machine.cpu_label()
    cfg = {"seed": 1, "threads": 2, "onednn_max_cpu_isa": "AVX2"}
    assert sandbox_init.child_env(cfg, "/h", "/t")["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert "ONEDNN_MAX_CPU_ISA" not in sandbox_init.child_env({**cfg, "onednn_max_cpu_isa": None},
                                                              "/h", "/t")  # fmt: skip


def test_reference_cache_key_depends_on_the_cpu_family(monkeypatch):
    """Is a reference run on one CPU family never reused on another (or under a oneDNN cap)?"""
    config = find_assignment("mnist")
    budget = config.budget("quick")
    here = phase1.reference_key(config, budget, "bundled")
    assert phase1.reference_key(config, budget, "bundled") == here
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert phase1.reference_key(config, budget, "bundled") != here
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    other = {**machine.cpu_family(), "model": "Another CPU", "isa": ["avx", "avx2"]}
    monkeypatch.setattr(phase1, "cpu_family", lambda: other)
    assert phase1.reference_key(config, budget, "bundled") != here
    assert dataclasses.is_dataclass(budget)
