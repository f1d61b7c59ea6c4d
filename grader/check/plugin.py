"""The pytest plugin that turns an assignment's checks into grades (phase 2, TRUSTED).

Loaded with `-p grader.check.plugin --grader-plan PLAN.json`. It:
- validates every check's `@pytest.mark.check(points=..., title=..., visibility=..., part=...)`
  when it is collected (unknown keyword, missing or negative points, duplicate title: a
  collection error naming the check);
- parametrizes every check that takes `student` over the plan's submissions, so one session
  (one TensorFlow import) grades the whole class: `test_mlp_layers[alice]`;
- provides the fixtures `student`, `reference`, `assignment`, `budget`, `heldout`,
  `training`;
- records each outcome as points with feedback (a check that errors is a failed check with
  the reason, never a pass) and writes them, with the model reports, to the plan's results.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from grader.check import checking
from grader.check.checking import CheckFailure, Partial, RunView, take_notes

MARKER = "check"
MARKER_KEYS = {"points", "title", "visibility", "part"}
VISIBILITIES = ("visible", "hidden")


class CheckDeclarationError(Exception):
    """A check's marker is wrong; the message names the check and the problem."""


@dataclass(frozen=True)
class Declaration:
    """A validated `@pytest.mark.check(...)`."""

    points: float
    title: str
    visibility: str
    part: str


def declaration_of(
    function, module_name: str, where: str, parts: tuple[str, ...] = ()
) -> Declaration:
    """Validate a check function's marker; raise CheckDeclarationError naming `where`.
    `parts`: the assignment's parts (`AssignmentConfig.part_names`), when known."""
    marks = [m for m in getattr(function, "pytestmark", []) if m.name == MARKER]
    if not marks:
        raise CheckDeclarationError(
            f"{where}: no @pytest.mark.check(points=..., title=...) declaration"
        )
    if len(marks) > 1:
        raise CheckDeclarationError(f"{where}: more than one @pytest.mark.check")
    mark = marks[0]
    if mark.args:
        raise CheckDeclarationError(
            f"{where}: @pytest.mark.check takes keywords only, got {mark.args!r}"
        )
    unknown = sorted(set(mark.kwargs) - MARKER_KEYS)
    if unknown:
        raise CheckDeclarationError(
            f"{where}: unknown keyword {unknown[0]!r} in @pytest.mark.check "
            f"(known: {', '.join(sorted(MARKER_KEYS))})"
        )
    if "points" not in mark.kwargs:
        raise CheckDeclarationError(f"{where}: @pytest.mark.check has no points=")
    points = mark.kwargs["points"]
    if isinstance(points, bool) or not isinstance(points, int | float) or points < 0:
        raise CheckDeclarationError(f"{where}: points={points!r} must be a number >= 0")
    title = mark.kwargs.get("title")
    if not isinstance(title, str) or not title.strip():
        raise CheckDeclarationError(f"{where}: @pytest.mark.check needs a title= string")
    visibility = mark.kwargs.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise CheckDeclarationError(
            f"{where}: visibility={visibility!r} must be 'visible' or 'hidden'"
        )
    default_part = module_name.rsplit(".", 1)[-1].removeprefix("test_")
    part = mark.kwargs.get("part", default_part)
    if not isinstance(part, str) or not part.isidentifier() or (parts and part not in parts):
        known = ", ".join(parts) or "a name"
        raise CheckDeclarationError(f"{where}: part={part!r} must be one of {known}")
    return Declaration(float(points), title.strip(), visibility, part)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grader-plan", default=None, help="keras-grader: the phase-2 plan (JSON)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "check(points, title, visibility='visible', part=None): a graded check of keras-grader",
    )
    plan_path = config.getoption("--grader-plan", None)
    if plan_path:
        config.pluginmanager.register(GradingSession(Path(plan_path)), "keras-grader-session")


class GradingSession:
    """State and hooks of one grading session (registered only when a plan is given)."""

    def __init__(self, plan_path: Path) -> None:
        self.plan = json.loads(plan_path.read_text())
        self.results: dict[str, dict[str, dict]] = {}
        self.declarations: dict[str, Declaration] = {}
        self.titles: dict[str, str] = {}
        self.collection_errors: list[str] = []
        self.entries = {s["id"]: s for s in self.plan["submissions"]}
        self.order = {sid: i for i, sid in enumerate(self.entries)}
        self.views: dict[str, RunView] = {}
        self.model_reports: dict[str, list] = {}
        from grader.config import load_config

        self.assignment_config = load_config(self.plan["assignment"])
        self.assignment_plan = self.assignment_config.plan
        self.assignment_parts = self.assignment_config.part_names
        self._reference_view: RunView | None = None
        self._context = None
        self.exitstatus: int | None = None
        self._spent: dict[str, float] = {}

    @property
    def reference_view(self) -> RunView:
        """The reference's view; when it trains beside the students, the first check that
        needs it waits for its record."""
        if self._reference_view is None:
            kept = self._kept()
            self._reference_view = kept[1] if kept else _resolve(
                self.plan["reference"], self.plan.get("phase1_done"), self.assignment_plan,
                reference=True,
            )  # fmt: skip
        return self._reference_view

    def view(self, sid: str) -> RunView:
        """The submission's view, waiting for its phase-1 record if it is still running."""
        if sid not in self.views:
            marker = self.plan.get("phase1_done")
            self.views[sid] = _resolve(self.entries[sid], marker, self.assignment_plan)
        return self.views[sid]

    # ---- collection --------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        where = f"{metafunc.module.__name__}::{metafunc.function.__name__}"
        declaration = declaration_of(
            metafunc.function, metafunc.module.__name__, where, self.assignment_parts
        )
        other = self.titles.get(declaration.title)
        if other is not None and other != where:
            raise CheckDeclarationError(
                f"{where}: duplicate title {declaration.title!r} (also used by {other})"
            )
        self.titles[declaration.title] = where
        self.declarations[metafunc.function.__name__] = declaration
        if "student" in metafunc.fixturenames:
            ids = list(self.entries)
            metafunc.parametrize("student", ids, indirect=True, ids=ids)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr)
            lines = [ln for ln in text.splitlines() if "CheckDeclarationError" in ln]
            self.collection_errors.append(lines[-1].strip() if lines else text[-2000:])

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list) -> None:
        if self.plan.get("visibility") == "visible":
            hidden = [i for i in items if self._declaration(i).visibility == "hidden"]
            if hidden:
                config.hook.pytest_deselected(items=hidden)
                items[:] = [i for i in items if i not in hidden]
        # Student by student (in phase-1 order), so each is checked as soon as their run is
        # done, and their rebuilt models can be dropped before the next student's.
        position = {id(item): n for n, item in enumerate(items)}
        items.sort(key=lambda i: (self.order.get(_sid(i), -1), position[id(i)]))
        self._journal({"declarations": [
            {"name": name, "title": d.title, "part": d.part, "max_score": d.points,
             "visibility": d.visibility}
            for name, d in self.declarations.items()
            if self.plan.get("visibility") != "visible" or d.visibility != "hidden"
        ]})  # fmt: skip

    def pytest_runtest_teardown(self, item, nextitem) -> None:
        sid = _sid(item)
        if sid is not None and (nextitem is None or _sid(nextitem) != sid):
            self._finish_student(sid)
            self._journal({"id": sid, **self._submission(sid)})

    def _journal(self, entry: dict) -> None:
        """Append one finished student (or the check declarations) to the session's journal,
        durably: if the session dies on the next student (a model that exhausts memory), the
        grader keeps everyone checked so far and restarts without that student."""
        path = self.plan.get("journal")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _submission(self, sid: str) -> dict:
        checks = self.results.get(sid, {})
        return {
            "checks": [checks[n] for n in self.declarations if n in checks],
            "models": self.model_reports.get(sid, []),
        }

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        """Bound the time one check may take (a model within the cost budget still takes
        seconds at most: this is the backstop), and one student's checks in all."""
        sid = _sid(item)
        limits = self.plan.get("check_seconds") or {}
        per_check = float(limits.get("check", 60))
        per_student = float(limits.get("student", 180))
        spent = self._spent.get(sid, 0.0)
        if sid is not None and spent > per_student:

            def refuse():
                raise CheckFailure(
                    f"not checked: the grader stopped checking this submission after "
                    f"{per_student:g} s of checks (its models are too slow to run)"
                )

            item.runtest = refuse
        started = time.monotonic()

        def timeout(signum, frame):
            raise CheckFailure(
                f"not checked: this check took longer than {per_check:g} s, the grader's "
                f"limit per check (your model is too slow to run on the test {checking.EXAMPLES})"
            )

        previous = signal.signal(signal.SIGALRM, timeout)
        signal.setitimer(signal.ITIMER_REAL, per_check)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if sid is not None:
                self._spent[sid] = spent + time.monotonic() - started

    def _finish_student(self, sid: str) -> None:
        """Model reports for the report, then free the student's models and predictions."""
        from grader.report.model_report import build_model_report

        context = self._context
        if context is None or sid in self.model_reports:
            return
        view = self.view(sid)
        self.model_reports[sid] = [
            asdict(
                build_model_report(
                    kind, view, self.reference_view, context.x_test, context.y_test,
                    context.reference_accuracy(kind), context.config.data.classes,
                    context.config.data.images,
                )
            )
            for kind in context.config.plan.model_names
        ]  # fmt: skip
        view.release()

    def _declaration(self, item) -> Declaration:
        return self.declarations[item.originalname]

    # ---- fixtures ----------------------------------------------------------------------
    @pytest.fixture(scope="session")
    def grading(self):
        """Settings, data and held-out labels: loaded once for the whole class."""
        if self._context is None:
            self._context = self._new_context()
        return self._context

    def _keep_key(self) -> str:
        """What a kept context belongs to: the grading's settings and reference."""
        plan = self.plan
        keyed = (plan["assignment"], plan["budget"], plan["data"], plan.get("visibility"))
        return json.dumps([keyed, plan["reference"]], sort_keys=True, default=str)

    def _kept(self) -> tuple | None:
        """(context, reference view) an earlier session of this grading built, in a check
        server (`keep` in the plan); None otherwise."""
        return _KEPT.get(self._keep_key()) if self.plan.get("keep") else None

    def _new_context(self) -> _Context:
        """The session's context; in a check server, the one an earlier session of the same
        grading built (data, held-out labels, the reference's rebuilt models), with the seeds
        set again as a new session sets them."""
        kept = self._kept()
        if kept is not None:
            seed_trusted(kept[0].config.seed, kept[0].config.threads)
            return kept[0]
        context = _Context(self.assignment_config, self.plan, self.reference_view)
        if self.plan.get("keep"):
            _KEPT.clear()  # one grading's state at a time
            _KEPT[self._keep_key()] = (context, self.reference_view)
        return context

    @pytest.fixture(scope="session")
    def assignment(self, grading):
        return grading.config

    @pytest.fixture(scope="session")
    def budget(self, grading):
        return grading.budget

    @pytest.fixture(scope="session")
    def heldout(self, grading):
        """(x_test, y_test): the held-out labels never entered any sandbox."""
        return grading.x_test, grading.y_test

    @pytest.fixture(scope="session")
    def training(self, grading):
        """(x_train, y_train): the training examples and labels every run was given."""
        return grading.x_train, grading.y_train

    @pytest.fixture(scope="session")
    def reference(self, grading):
        return self.reference_view

    @pytest.fixture
    def student(self, request, grading):
        return self.view(request.param)

    # ---- outcomes ----------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        sid = _sid(item)
        if sid is None or item.originalname not in self.declarations:
            return
        if call.when == "setup":
            take_notes()  # whatever an earlier check left behind is not this check's
        if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
            self._record(sid, item, call, report)

    def _record(self, sid: str, item, call, report) -> None:
        declaration = self._declaration(item)
        fraction, feedback, table = 0.0, "", ()
        exc = call.excinfo.value if call.excinfo else None
        if report.passed and call.when == "call":
            fraction = 1.0
        elif isinstance(exc, Partial):
            fraction, feedback = exc.fraction, exc.message
        elif isinstance(exc, CheckFailure):
            feedback, table = exc.message, exc.table
        elif isinstance(exc, AssertionError):
            feedback = str(exc) or "an assertion of the check failed"
        elif report.skipped:
            feedback = f"the check was skipped ({_skip_reason(report)}): no points"
        elif exc is not None:
            feedback = (
                f"the grader could not complete this check ({type(exc).__name__}: "
                f"{str(exc)[:500]}); it counts as failed: please tell your instructor"
            )
        notes = take_notes()
        if notes:
            feedback = "\n".join([feedback, *notes] if feedback else notes)
        self.results.setdefault(sid, {})[item.originalname] = {
            "name": item.originalname,
            "title": declaration.title,
            "part": declaration.part,
            "max_score": declaration.points,
            "score": round(declaration.points * fraction, 4),
            "visibility": declaration.visibility,
            "feedback": feedback,
            "table": [asdict(row) for row in table],
            "seconds": round(float(getattr(report, "duration", 0.0) or 0.0), 4),
        }

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.exitstatus = int(exitstatus)
        out = {"submissions": {}, "collection_errors": self.collection_errors, "reference": {}}
        if self._context is None and self.entries and not self.collection_errors:
            try:
                self._context = self._new_context()
            except Exception as exc:  # noqa: BLE001
                self.collection_errors.append(f"could not load the grading data: {exc}")
        for sid in self.entries:
            if self._context is not None and not self.collection_errors:
                self._finish_student(sid)
            out["submissions"][sid] = self._submission(sid)
        if self._context is not None:
            out["reference"] = {
                kind: self._context.reference_accuracy(kind)
                for kind in self._context.config.plan.model_names
            }
        path = Path(self.plan["results"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(out))
        os.replace(tmp, path)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """In the grader's own session (`exit_fast` in the plan), end the process here.

        Everything is written and reported by now; what is left is the interpreter's teardown
        of TensorFlow, about 0.6 s on every grading run (benchmarks/README.md). The runner ends
        the same way.
        """
        if self.plan.get("exit_fast") and self.exitstatus is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(self.exitstatus)


def _sid(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("student") if callspec else None


def _skip_reason(report) -> str:
    try:
        return str(report.longrepr[2])
    except (TypeError, IndexError):
        return "skipped"


def _resolve(entry: dict, done_marker: str | None, plan, reference: bool = False) -> RunView:
    """A view from a plan entry; an entry naming a record file waits for phase 1 to write it."""
    record = entry.get("record")
    if not record:
        return _view(entry, plan, reference)
    path = Path(record)
    while True:
        finished = done_marker is None or Path(done_marker).exists()
        try:
            data = json.loads(path.read_text())
            return _view({**data, "id": entry["id"]}, plan, reference)
        except FileNotFoundError:
            if finished:
                return _view(
                    {"id": entry["id"], "status": "sandbox_error",
                     "detail": "phase 1 left no record for this submission"}, plan, reference,
                )  # fmt: skip
        except ValueError:
            pass  # records are written atomically; a bad one is not ours to fix: wait
        time.sleep(0.1)


def _view(entry: dict, plan, reference: bool = False) -> RunView:
    """A run's view; `expected` predictions count for the reference (a check kit's) only."""
    out_dir = entry.get("out_dir")
    return RunView(
        plan=plan,
        id=entry["id"],
        status=entry.get("status", "ok"),
        detail=entry.get("detail", ""),
        out_dir=Path(out_dir) if out_dir else None,
        notes=tuple(entry.get("notes", ())),
        sources=entry.get("sources") if isinstance(entry.get("sources"), dict) else {},
        expected=(entry.get("expected") or {}) if reference else {},
    )


_KEPT: dict[str, tuple] = {}
"""A check server's state between sessions of one grading: {key: (context, reference view)}."""


class _Context:
    """Session-wide trusted state: config, budget, data, reference accuracy."""

    def __init__(self, config, plan: dict, reference: RunView) -> None:
        from grader.data import grading_split

        self.config = config  # parsed once, by the session
        self.budget = self.config.budget(plan["budget"])
        checking.EXAMPLES = "images" if self.config.data.images else "inputs"
        seed_trusted(self.config.seed, self.config.threads)
        split = grading_split(self.config, plan["data"], plan.get("visibility", "all"))
        (x_train, y_train), (x_test, y_test) = split
        rows = min(self.budget.train_samples, len(x_train))
        self.x_train, self.y_train = x_train[:rows], y_train[:rows]  # what every run got
        self.x_test = x_test
        numeric = self.config.data.numeric_targets
        self.y_test = np.asarray(y_test, dtype=np.float32 if numeric else np.int64)
        self._reference = reference
        self._accuracy: dict[str, float | None] = {}
        set_model_budgets(reference, self.config.plan.model_names)

    def reference_accuracy(self, kind: str) -> float | None:
        if kind not in self._accuracy:
            try:
                self._accuracy[kind] = self._reference.metric(kind, self.y_test)
            except Exception:  # noqa: BLE001 - the accuracy check reports it
                self._accuracy[kind] = None
        return self._accuracy[kind]


def seed_trusted(seed: int, threads: int) -> None:
    """Seed this (trusted) process and fix TensorFlow's threads, as the sandbox does: the
    check session, and anything else that measures models on the trusted side."""
    import random

    import keras
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow already initialised in this process: the first setting holds
    tf.config.experimental.enable_op_determinism()


def set_model_budgets(reference: RunView, kinds: tuple[str, ...]) -> None:
    """Bound what a student's model may cost to rebuild and run: a multiple of the
    reference's layers, parameters and FLOPs (grader/check/model_budget.py)."""
    from grader.check import artifacts
    from grader.check.model_budget import Budget, estimate

    for kind in kinds:
        try:
            path = reference.model_facts(kind)["untrained"]["config"]
            config = artifacts.read_json(reference.out_dir, path)
        except Exception:  # noqa: BLE001 - no reference model of this kind: no bound to set
            continue
        artifacts.MODEL_BUDGETS[kind] = Budget.relative_to(estimate(config))
