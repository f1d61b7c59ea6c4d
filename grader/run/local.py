"""Phase 1 orchestration: inputs for the sandbox, the reference's run, each student's run.

The reference goes through the sandbox like any student. Its whole outputs become the
fallbacks students' runs use where their own step failed, and every expected value of the
checks comes from its artifacts. Held-out test labels never appear here: the sandbox gets
test images only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader import __version__
from grader.check.artifacts import ArtifactError, Artifacts
from grader.config import AssignmentConfig, Budget
from grader.fileio import link_or_copy
from grader.machine import cpu_family
from grader.report.exports import write_json
from grader.run.sandbox import RunOutcome, run_job, stop_all_runs
from grader.run.submission import (
    PreparedSubmission,
    SubmissionError,
    content_hash_or_empty,
    prepare,
)


def stand_ins(config: AssignmentConfig) -> tuple[dict[str, str], dict[str, str]]:
    """Which reference outputs enter the students' inputs, by input key.

    Returns (values, shapes): the reference's output of each labels call (`labels_of`),
    which stands in where a student's encoding is unusable, and the shapes, never the
    values, of the outputs that feed a model (`shape = "reference"`): how the harness tells
    a contract-shaped array from another shape. No reference output that a check compares
    with and no reference model ever enters a sandbox, where student code could hand it
    back as its own (issue 12)."""
    values = {f"fb:{c.name}": c.name for c in config.plan.calls if c.labels_of}
    shapes = {f"shape:{c.name}": c.name for c in config.plan.calls if c.shape == "reference"}
    return values, shapes


@dataclass(frozen=True)
class RunRecord:
    """One submission's phase-1 result, as later phases need it."""

    id: str
    status: str
    detail: str
    isolation: str
    content_hash: str
    out_dir: Path | None
    duration: float
    stdout: str = ""
    stderr: str = ""
    notes: tuple[str, ...] = ()
    sources: dict = field(default_factory=dict)
    """The student's file names and notebook cells behind the modules the sandbox ran."""
    expected: dict = field(default_factory=dict)
    """A check kit's reference only: what was measured of the trained reference when the kit
    was built (`RunView.expected`); the kit holds no trained weights to measure."""

    def to_json(self) -> dict:
        return {**self.__dict__, "out_dir": str(self.out_dir) if self.out_dir else None}


def training_inputs(split, budget: Budget, config: AssignmentConfig) -> dict[str, np.ndarray]:
    """What every run gets: the first `train_samples` training examples and labels, the test
    examples (never their labels), and the plan's constant inputs."""
    (x_train, y_train), (x_test, _labels_never_leave) = split
    n = min(budget.train_samples, len(x_train))
    constants = {}
    for name, values in config.plan.inputs.items():
        whole = all(isinstance(v, int) for v in values)
        constants[name] = np.asarray(values, dtype=y_train.dtype if whole else np.float32)
    return {
        "x_train": np.ascontiguousarray(x_train[:n]),
        "y_train": np.ascontiguousarray(y_train[:n]),
        "x_test": np.ascontiguousarray(x_test),
        **constants,
    }


def write_inputs(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    path.chmod(0o644)
    return path


def reference_key(config: AssignmentConfig, budget: Budget, data_label: str) -> str:
    """What the reference's run depends on: its code, the data, the budget, the grader."""
    digest = hashlib.sha256()
    for file in sorted(config.root.glob("*.py")):
        digest.update(file.name.encode() + file.read_bytes())
    digest.update(_run_settings(config, budget, data_label).encode())
    return digest.hexdigest()


def _run_settings(config: AssignmentConfig, budget: Budget, data_label: str) -> str:
    """What any sandboxed run of this assignment depends on besides its code and inputs."""
    digest = hashlib.sha256()
    # The environment too: another venv (other TensorFlow) must not reuse this run, nor may
    # another CPU family (oneDNN's kernels, and so the last digits of training, differ).
    environment = (sys.prefix, sys.version, cpu_family())
    plan = (repr(config.plan), repr(dict(config.contract)), repr(config.data))
    settings = (data_label, repr(budget), config.seed, config.threads, __version__, environment)
    settings += plan
    digest.update(repr(settings).encode())
    # The runner and the sandbox's init (which sets the runner's environment: threads, oneDNN).
    for name in ("runner.py", "sandbox_init.py"):
        digest.update(Path(__file__).with_name(name).read_bytes())
    return digest.hexdigest()


def stamp_inputs(config: AssignmentConfig, budget: Budget, data_label: str, work: Path) -> str:
    """What a student's run depends on besides their code: the settings and `work/inputs.npz`
    (the data and the reference's stand-ins), not the reference's training. Kept in
    `work/_reference/key.json`; a stored run with another stamp is run again."""
    digest = hashlib.sha256(_run_settings(config, budget, data_label).encode())
    with open(work / "inputs.npz", "rb") as inputs:
        for block in iter(lambda: inputs.read(1 << 20), b""):
            digest.update(block)
    key = digest.hexdigest()
    stamp = work / "_reference" / "key.json"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"key": key}))
    return key


def reference_cache() -> Path:
    """Where reference runs are kept, shared by every OUT directory of this user.

    `KERAS_GRADER_CACHE` overrides it; the default is `~/.cache/keras-grader/reference`.
    """
    return cache_dir() / "reference"


def cache_dir() -> Path:
    """The grader's cache of this user: `KERAS_GRADER_CACHE`, or `~/.cache/keras-grader`."""
    return Path(os.environ.get("KERAS_GRADER_CACHE") or Path.home() / ".cache" / "keras-grader")


def run_reference(
    config: AssignmentConfig,
    split,
    budget: Budget,
    data_label: str,
    work: Path,
    isolation: str | None = None,
    inputs: bool = True,
) -> RunRecord:
    """Run the reference through the sandbox once per (code, data, budget, grader version).

    The run is cached (see `reference_cache`), so grading another class, or the same class
    into a fresh OUT, does not train the reference again. Leaves `work/inputs.npz` (with the
    reference's stand-ins, see `stand_ins`) for the students, unless `inputs` is false (they
    came from `reference_inputs` already).
    """
    if config.kit is not None:
        return kit_reference(config, work)
    cached = reference_cache() / reference_key(config, budget, data_label)[:24]
    if not (cached / "record.json").exists():
        _build_reference(config, split, budget, cached, isolation)
    data = json.loads((cached / "record.json").read_text())
    record = RunRecord(**{**data, "out_dir": cached / "job" / "out", "notes": ()})
    work.mkdir(parents=True, exist_ok=True)
    if inputs:
        link_or_copy(cached / "inputs.npz", work / "inputs.npz")
        stamp_inputs(config, budget, data_label, work)
    return record


def reference_cached(config: AssignmentConfig, budget: Budget, data_label: str) -> bool:
    """Whether `run_reference` would find its run ready (cached, or a check kit's)."""
    if config.kit is not None:
        return True
    key = reference_key(config, budget, data_label)
    return (reference_cache() / key[:24] / "record.json").exists()


def reference_inputs(
    config: AssignmentConfig,
    split,
    budget: Budget,
    data_label: str,
    work: Path,
    isolation: str | None = None,
) -> None:
    """The students' `work/inputs.npz` without the reference's training: the reference runs
    in the sandbox once more with its calls only (no model), and the stand-ins come from
    those outputs, so students need not wait for the reference's whole run (issue 18)."""
    base = training_inputs(split, budget, config)
    values, shapes = stand_ins(config)
    work.mkdir(parents=True, exist_ok=True)
    if not values and not shapes:  # nothing of the reference's enters the inputs
        write_inputs(work / "inputs.npz", base)
        stamp_inputs(config, budget, data_label, work)
        return
    job = work / "_reference" / "stand-ins"
    if job.exists():
        shutil.rmtree(job)
    job.mkdir(parents=True)
    plan = {**config.plan_json(), "models": []}
    ref_inputs = write_inputs(job / "reference-inputs.npz", base)
    artifacts = _reference_job(config, job, ref_inputs, plan, budget, isolation)[2]
    write_inputs(work / "inputs.npz", {**base, **_stand_in_arrays(config, artifacts)})
    stamp_inputs(config, budget, data_label, work)
    shutil.rmtree(job, ignore_errors=True)


def same_inputs(first: Path, second: Path) -> bool:
    """Whether two inputs files hold the same arrays."""
    with np.load(first, allow_pickle=False) as a, np.load(second, allow_pickle=False) as b:
        if sorted(a.files) != sorted(b.files):
            return False
        return all(np.array_equal(a[name], b[name]) for name in a.files)


class ReferenceBeside:
    """The reference's whole run, in a thread of its own, beside the run of its calls alone
    (`reference_inputs`) and then beside the students' runs. When it ends, its record is
    written to `record_path`, where the phase-2 session waits for it. If it fails, the
    students' runs in flight are stopped (`stop_all_runs`: not stored, so a rerun runs them
    again; finished ones are kept) and `result()` raises ReferenceFailed."""

    def __init__(
        self, config: AssignmentConfig, split, budget: Budget, data_label: str, work: Path,
        isolation: str | None = None,
    ) -> None:  # fmt: skip
        self.record_path = work / "_reference" / "record.json"
        self.record_path.unlink(missing_ok=True)
        entry = reference_cache() / reference_key(config, budget, data_label)[:24]
        self._inputs = (entry / "inputs.npz", work / "inputs.npz")  # its own, the students'
        self._outcome: RunRecord | BaseException | None = None
        self._verified = False
        self._lock = threading.Lock()
        args = (config, split, budget, data_label, work, isolation)
        self._thread = threading.Thread(
            target=self._run, args=args, name="reference", daemon=True
        )
        self._thread.start()

    def _run(self, config, split, budget, data_label, work, isolation) -> None:
        try:
            record = run_reference(config, split, budget, data_label, work, isolation, False)
            write_json(self.record_path, record.to_json())
            self._outcome = record
        except BaseException as exc:  # noqa: BLE001 - handed to result(); the students stop
            self._outcome = exc
            stop_all_runs()

    def result(self) -> RunRecord:
        """The reference's record, once its run has ended; ReferenceFailed if it failed, or if
        its stand-ins differ from those the students got (`reference_inputs`, from another
        run of its calls). Any thread may ask, any number of times: the inputs are compared
        once."""
        self._thread.join()
        with self._lock:
            outcome = self._outcome
            if isinstance(outcome, BaseException) and not isinstance(outcome, ReferenceFailed):
                outcome = ReferenceFailed(
                    f"the reference's run failed in the grader: {type(outcome).__name__}: "
                    f"{outcome}"
                )
            if not isinstance(outcome, ReferenceFailed) and not self._verified:
                if not same_inputs(*self._inputs):
                    outcome = ReferenceFailed(
                        "the reference's preprocessing or labels differ between two runs of it",
                        "the students' stand-ins come from one run: make every step before "
                        "training deterministic (seed anything random in it)",
                    )
                self._verified = True
            self._outcome = outcome
        if isinstance(outcome, ReferenceFailed):
            raise outcome
        return outcome


def kit_reference(config: AssignmentConfig, work: Path) -> RunRecord:
    """A check kit's reference: the expected values `grader kit` kept of the instructor's
    reference run (grader/kit.py), read like a run's artifacts; nothing runs."""
    expected = config.root / config.kit["expected"]
    data = json.loads((expected / "record.json").read_text())
    facts = data.pop("expected", {})
    facts["predictions"] = {
        kind: str(expected / name) for kind, name in facts.get("predictions", {}).items()
    }
    record = RunRecord(**{**data, "out_dir": expected / "out", "notes": (), "expected": facts})
    work.mkdir(parents=True, exist_ok=True)
    link_or_copy(expected / "inputs.npz", work / "inputs.npz")
    stamp = work / "_reference" / "key.json"
    stamp.parent.mkdir(exist_ok=True)
    stamp.write_text(json.dumps({"key": config.kit.get("reference_key", "kit")}))
    return record


def _build_reference(
    config: AssignmentConfig, split, budget: Budget, dest: Path, isolation: str | None
) -> None:
    """Run the reference into a temporary directory, then move it into the cache whole."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    ref_dir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        base = training_inputs(split, budget, config)
        ref_inputs = write_inputs(ref_dir / "reference-inputs.npz", base)
        prepared, outcome, artifacts = _reference_job(
            config, ref_dir, ref_inputs, config.plan_json(), budget, isolation
        )
        write_inputs(ref_dir / "inputs.npz", {**base, **_stand_in_arrays(config, artifacts)})
        (ref_dir / "reference-inputs.npz").unlink()
        record = _record("reference", prepared, outcome)
        (ref_dir / "record.json").write_text(json.dumps(record.to_json()))
        try:
            os.rename(ref_dir, dest)
        except OSError:
            if not (dest / "record.json").exists():  # lost a race to a broken entry: replace
                shutil.rmtree(dest, ignore_errors=True)
                os.rename(ref_dir, dest)
    finally:
        if ref_dir.exists():
            shutil.rmtree(ref_dir, ignore_errors=True)


def _reference_job(
    config: AssignmentConfig, where: Path, inputs: Path, plan: dict, budget: Budget, isolation
) -> tuple[PreparedSubmission, RunOutcome, Artifacts]:
    """The reference's sandboxed run of `plan` in `where`; every call of it must work."""
    prepared = prepare(config.root, where / "code", config.contract, modules_only=True)
    outcome = run_job(
        job_dir=where / "job",
        submission_dir=prepared.directory,
        modules=prepared.modules,
        inputs=inputs,
        plan=plan,
        budget=budget,
        limits=config.limits,
        seed=config.seed,
        threads=config.threads,
        save_full=True,
        isolation=isolation,
        environment=config.environment.modules,
    )
    if outcome.status != "ok":
        raise ReferenceFailed(
            f"the reference solution did not run cleanly: {outcome.status}: {outcome.detail}",
            f"see {where / 'job'} (stderr: {outcome.stderr.strip()[-300:]})",
        )
    artifacts = Artifacts(outcome.out_dir)
    failed = [
        (name, record)
        for name, record in artifacts.manifest.get("calls", {}).items()
        if isinstance(record, dict) and record.get("status") != "ok"
    ]
    if failed:  # every expected value comes from this run: all of it must have worked
        name, record = failed[0]
        why = str(record.get("message") or record.get("why") or "")[:300]
        raise ReferenceFailed(
            f"the reference solution's {name} did not work: {record.get('status')}"
            + (f" ({record.get('exc_type')}: {why})" if why else ""),
            "the plan's arguments must fit the reference's functions "
            f"(see {where / 'job' / 'out' / 'manifest.json'})",
        )
    return prepared, outcome, artifacts


def _stand_in_arrays(config: AssignmentConfig, artifacts: Artifacts) -> dict[str, np.ndarray]:
    """The stand-ins (`stand_ins`) as the students' inputs hold them."""
    fallbacks = {}
    values, shapes = stand_ins(config)
    try:
        for key_name, call in values.items():
            fallbacks[key_name] = artifacts.array(call).astype(np.float32)
        for key_name, call in shapes.items():
            shape = artifacts.result(call)["shape"]
            fallbacks[key_name] = np.asarray(shape, dtype=np.int64)
    except (ArtifactError, KeyError, TypeError) as exc:
        raise ReferenceFailed(f"the reference's artifacts are incomplete: {exc}") from None
    return fallbacks


class ReferenceFailed(Exception):
    """The reference itself failed: nothing can be graded (the grader's own problem)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(f"{message}" + (f" (hint: {hint})" if hint else ""))


def run_dir(work: Path, sid: str) -> Path:
    """A student's directory under OUT/.work: code, job, artifacts and phase-1 record.

    Kept apart from the work directory's own files, so no id (`phase2`, `inputs.npz`) can
    collide with them.
    """
    return work / "runs" / sid


def run_student(
    source: Path,
    sid: str,
    config: AssignmentConfig,
    budget: Budget,
    work: Path,
    isolation: str | None = None,
) -> RunRecord:
    """Prepare and run one student's submission; never raises for the student's doing."""
    job = run_dir(work, sid)
    if job.exists():
        shutil.rmtree(job)
    job.mkdir(parents=True)
    started = time.monotonic()
    try:
        prepared = prepare(source, job / "code", config.contract)
    except SubmissionError as exc:
        return RunRecord(
            sid, "sandbox_error", f"submission refused: {exc}", "none",
            content_hash_or_empty(source), None, round(time.monotonic() - started, 3),
        )  # fmt: skip
    outcome = run_job(
        job_dir=job / "job",
        submission_dir=prepared.directory,
        modules=prepared.modules,
        inputs=work / "inputs.npz",
        plan=config.plan_json(),
        budget=budget,
        limits=config.limits,
        seed=config.seed,
        threads=config.threads,
        isolation=isolation,
        environment=config.environment.modules,
    )
    return _record(sid, prepared, outcome)


def _record(sid: str, prepared: PreparedSubmission, outcome: RunOutcome) -> RunRecord:
    return RunRecord(
        id=sid,
        status=outcome.status,
        detail=outcome.detail,
        isolation=outcome.isolation,
        content_hash=prepared.content_hash,
        out_dir=outcome.out_dir,
        duration=outcome.duration,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        notes=prepared.notes,
        sources=prepared.sources,
    )
