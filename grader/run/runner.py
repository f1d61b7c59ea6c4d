"""Phase 1 runner: the UNTRUSTED side. Runs inside the sandbox, never in the grader.

It imports the student's modules, calls every function of the contract on inputs the grader
supplies, and writes artifacts (JSON and `.npz`) into the output directory. It trusts nothing
it gets back from student code, and nothing it writes is trusted by the grader either: the
trusted side re-derives everything that earns points (see grader/check/artifacts.py).

This file is copied into the sandbox and run as a script (`python -I runner.py plan.json`), so
it imports nothing from `grader`: only the standard library, NumPy and Keras.

Each call is isolated: a failing or unimplemented function is recorded and the run goes on,
with the reference's output standing in where a later step needs it (a broken label encoding still
lets the student's model train). The manifest is rewritten after every call, with the call in
progress marked, so a run killed half-way still tells what finished and what was running.
"""

from __future__ import annotations

import json
import os
import random
import stat
import sys
import time
import traceback
import warnings

RUNNER_VERSION = 1
SAMPLE_ROWS = 256
"""Rows of each training-set output kept as artifacts (enough to compare; small to write)."""
EVAL_ROWS = 512
"""Training rows `evaluate()` is called on; the grader re-evaluates the same rows."""

# Bound before any student code runs, so monkeypatching the modules cannot redirect our I/O.
_os_open, _os_write, _os_close, _os_fsync, _os_replace = (
    os.open,
    os.write,
    os.close,
    os.fsync,
    os.replace,
)
_json_dumps = json.dumps
_perf_counter = time.perf_counter


def seed_everything(seed: int, threads: int) -> None:
    """Seed Python, NumPy and Keras and make TensorFlow deterministic with fixed threads.

    Call before building a model; safe to call again (thread settings stick after the first).
    """
    import keras
    import numpy as np
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


def _write_bytes(path: str, data: bytes) -> None:
    """Write atomically (temp file, fsync, rename), so a kill never leaves half a file."""
    tmp = f"{path}.tmp{os.getpid()}"
    fd = _os_open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[_os_write(fd, view) :]
        _os_fsync(fd)
    finally:
        _os_close(fd)
    _os_replace(tmp, path)


class Runner:
    """Calls the student's functions and records what happened."""

    def __init__(self, plan: dict) -> None:
        import numpy as np

        self.np = np
        self.plan = plan
        self.out = plan["out"]
        for sub in ("arrays", "models"):
            os.makedirs(os.path.join(self.out, sub), exist_ok=True)
        self.submission_dir = os.path.realpath(plan["submission"])
        self.manifest: dict = {
            "runner": RUNNER_VERSION,
            "finished": False,
            "current": None,
            "versions": {},
            "calls": {},
            "fallbacks": {},
            "models": {},
        }
        with np.load(plan["inputs"], allow_pickle=False) as data:
            self.inputs = {k: data[k] for k in data.files}
        self.modules: dict[str, object] = {}
        self.own: dict[str, object] = {}
        self.shapes: dict[str, tuple] = {}
        """The input shape each model was built on, by kind (for tracing it again later)."""
        """Student arrays of another shape than the contract's, by call (see record_array)."""

    # ---- bookkeeping -------------------------------------------------------------------
    def flush(self) -> None:
        text = _json_dumps(self.manifest, indent=1, default=repr, allow_nan=True)
        _write_bytes(os.path.join(self.out, "manifest.json"), text.encode())

    def save_arrays(self, name: str, **arrays) -> str:
        """Write `arrays/<name>.npz`; returns its path relative to the output directory."""
        return self.save_arrays_at(f"arrays/{name}.npz", arrays)

    def student_frames(self, exc: BaseException) -> str:
        """The traceback as the student would want it: their frames only, paths relative."""
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if os.path.realpath(f.filename).startswith(self.submission_dir + os.sep)
        ]
        for f in frames:
            f.filename = os.path.relpath(os.path.realpath(f.filename), self.submission_dir)
        lines = traceback.format_list(frames[-6:])
        lines += traceback.format_exception_only(type(exc), exc)
        return "".join(lines)[-4000:]

    def call(self, name: str, fn, *args, **kwargs):
        """Run one student call, recording status, duration and any exception.

        Returns (ok, value). Never raises: even SystemExit and KeyboardInterrupt from student
        code are recorded as that call's error.
        """
        record = {"status": "running"}
        self.manifest["calls"][name] = record
        self.manifest["current"] = name
        self.flush()
        start = _perf_counter()
        caught: list = []
        try:
            if isinstance(fn, _Unavailable):
                raise fn
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = fn(*args, **kwargs)
            record["status"] = "ok"
            ok = True
        except _Unavailable as exc:
            record.update(status="error", exc_type="ImportError", message=str(exc))
            if exc.module_failed:
                record["import_failed"] = exc.module
            value, ok = None, False
        except NotImplementedError as exc:
            record.update(status="not_implemented", exc_type="NotImplementedError")
            record["message"] = str(exc)[:500]
            value, ok = None, False
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            record.update(status="error", exc_type=type(exc).__name__)
            try:
                record["message"] = str(exc)[:8000]
            except BaseException:  # noqa: BLE001 - a hostile __str__
                record["message"] = "(the exception could not be printed)"
            try:
                record["traceback"] = self.student_frames(exc)
            except BaseException:  # noqa: BLE001
                record["traceback"] = ""
            value, ok = None, False
        record["duration"] = round(_perf_counter() - start, 4)
        try:
            messages = [str(w.message)[:300] for w in caught or ()]
        except BaseException:  # noqa: BLE001
            messages = []
        if messages:
            record["warnings"] = messages[:10]
        self.manifest["current"] = None
        self.flush()
        return ok, value

    def note(self, name: str, **facts) -> None:
        self.manifest["calls"].setdefault(name, {}).update(facts)

    # ---- arrays ------------------------------------------------------------------------
    def describe_array(self, value) -> dict:
        """What the student returned, and a plain float32/64 copy if it is array-like."""
        np = self.np
        info = {"type": f"{type(value).__module__}.{type(value).__qualname__}"}
        info["exact_ndarray"] = type(value) is np.ndarray
        try:
            if isinstance(value, np.ndarray):
                arr = np.array(value.view(np.ndarray), copy=True)
            else:
                arr = np.asarray(value)
            if arr.dtype == object or arr.dtype.kind not in "biuf":
                raise TypeError(f"dtype {arr.dtype}")
        except BaseException as exc:  # noqa: BLE001 - hostile objects
            info["convertible"] = False
            info["why"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            return info
        info.update(convertible=True, dtype=arr.dtype.str, shape=list(arr.shape))
        if arr.size:
            with np.errstate(all="ignore"):
                info["min"] = float(np.nanmin(arr)) if arr.dtype.kind != "b" else 0.0
                info["max"] = float(np.nanmax(arr)) if arr.dtype.kind != "b" else 1.0
                info["finite"] = bool(np.isfinite(arr).all()) if arr.dtype.kind == "f" else True
        info["_array"] = arr
        return info

    def record_array(self, call: str, value, rows: int | None, fallback):
        """Describe and save a returned array; return what later steps should use."""
        info = self.describe_array(value)
        arr = info.pop("_array", None)
        self.note(call, result=info)
        if arr is not None:
            kept = arr if rows is None else arr[:rows]
            info["file"] = self.save_arrays(call.replace(":", "_"), value=kept)
            self.note(call, result=info)
            expected = fallback.shape if fallback is not None else None
            if expected is None or arr.shape == expected:
                return arr.astype("float32", copy=False)
            if fallback is not None and arr.ndim >= 2 and len(arr) == len(fallback):
                # Not the contract's shape, but one row per image: the student's own pipeline
                # may still be consistent (images kept as (n, 28, 28) for a model that takes
                # them). Kept aside, used only where their model takes that shape.
                self.own[call] = arr.astype("float32", copy=False)
        return None

    def inputs_for(self, kind: str, model, contract: tuple, own: tuple, fallback):
        """The (train, test) inputs the student's model gets: their contract-shaped arrays;
        or, where their model takes the shape of their own other-shaped arrays (images kept as
        (n, 28, 28) for a model that flattens them), those, so one deviation in preprocessing
        is not charged again to train, evaluate, save/load and accuracy; else None (the
        reference's stand in)."""
        wanted = _input_shape(model)
        if own[0] is not None and own[1] is not None and contract[0] is None:
            fits_own = wanted is not None and _fits(wanted, own[0].shape[1:])
            fits_contract = (
                wanted is not None and fallback is not None and _fits(wanted, fallback.shape[1:])
            )
            if fits_own and not fits_contract:
                self.manifest["models"].setdefault(kind, {})["inputs"] = "student's own shape"
                return own
        return contract

    def usable(self, step: str, what: str, value, fallback):
        """The student's value if usable, else the reference's (and say so)."""
        if value is not None:
            return value
        self.manifest["fallbacks"].setdefault(step, []).append(what)
        return fallback

    # ---- models ------------------------------------------------------------------------
    def save_model(self, kind: str, stage: str, model, shape: tuple | None = None) -> dict:
        """Architecture as `get_config()` JSON, weights as `.npz`, plus compile facts.

        A subclassed model (`class MyModel(keras.Model)` with a `call()`) is traced on a
        symbolic `keras.Input` of its input shape into a functional graph of the same layers
        (sharing their weights); that graph is what the trusted side rebuilds, never the
        student's class. Where it cannot be traced, the facts say exactly why.
        """
        import keras

        facts: dict = {"type": f"{type(model).__module__}.{type(model).__qualname__}"}
        if not isinstance(model, keras.Model):
            facts["error"] = "not a keras.Model"
            return facts
        name = f"{kind}_{stage}"
        if shape is not None:
            self.shapes[kind] = shape
        shape = shape or self.shapes.get(kind)
        if _subclassed(model) and _functional_subclass(model):
            facts["subclassed"] = type(model).__name__
            model = keras.Model(model.inputs, model.outputs, name=model.name)
        elif _subclassed(model):
            facts["subclassed"] = type(model).__name__
            try:
                model = _trace(model, shape)
            except BaseException as exc:  # noqa: BLE001 - untraceable call(): say why
                facts["error"] = (
                    f"your {type(model).__name__} (a subclassed keras.Model) could not be traced "
                    f"into a graph of built-in layers on keras.Input(shape={shape}): "
                    f"{type(exc).__name__}: {str(exc)[:300]}"
                )
                return facts
        config = keras.saving.serialize_keras_object(model)
        config.pop("compile_config", None)
        _write_bytes(
            os.path.join(self.out, f"models/{name}.json"),
            _json_dumps(config, default=repr).encode(),
        )
        weights = model.get_weights()
        self.save_arrays_at(f"models/{name}.npz", {f"w{i:03d}": w for i, w in enumerate(weights)})
        facts["config"] = f"models/{name}.json"
        facts["weights"] = f"models/{name}.npz"
        return facts

    def save_keras(self, kind: str, stage: str, model, optimizer=None) -> dict:
        """The model as Keras saves it (`models/<name>.keras`: config with the compile
        settings, weights, and the optimizer's state with its step count): the file the
        trusted side reads those facts from, instead of anything reported in memory.

        A subclassed model is saved as its traced graph, compiled from its own compile
        config, with its own optimizer (or `optimizer`, the one a hand-written loop stepped).
        """
        import keras

        name = f"{kind}_{stage}"
        own = getattr(model, "optimizer", None)
        saved = model
        if _subclassed(model) or (optimizer is not None and optimizer is not own):
            # A copy of the same layers as a plain graph, never the student's own object
            # (their evaluate() and save() still get it unchanged).
            if _subclassed(model) and not _functional_subclass(model):
                saved = _trace(model, self.shapes.get(kind))
            else:
                saved = keras.Model(model.inputs, model.outputs, name=model.name)
            config = model.get_compile_config() if getattr(model, "compiled", False) else None
            if config:
                saved.compile_from_config(config)
            optimizer = optimizer or own
            if optimizer is not None:
                if not getattr(saved, "compiled", False):
                    saved.compile(optimizer=optimizer)
                saved.optimizer = optimizer
        rel = f"models/{name}.keras"
        path = os.path.join(self.out, rel)
        tmp = f"{path}.tmp{os.getpid()}.keras"
        saved.save(tmp)
        _os_replace(tmp, path)
        return {"file": rel}

    def keep_file(self, source: str, rel: str, cap: int = 256 << 20) -> dict:
        """Copy a regular file (not a link, at most `cap` bytes) into the output directory."""
        fd = _os_open(source, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > cap:
                return {"error": "not a regular file within the size cap"}
            chunks, size = [], 0
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
                size += len(chunk)
                if size > cap:
                    return {"error": "larger than the size cap"}
        finally:
            _os_close(fd)
        _write_bytes(os.path.join(self.out, rel), b"".join(chunks))
        return {"file": rel}

    def save_arrays_at(self, rel: str, arrays: dict) -> str:
        """Write `arrays` as one `.npz` at `rel` (relative to the output directory)."""
        import io

        buf = io.BytesIO()
        self.np.savez(buf, **arrays)
        _write_bytes(os.path.join(self.out, rel), buf.getvalue())
        return rel

    def compile_facts(self, model) -> dict:
        facts: dict = {}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            facts["optimizer"] = type(optimizer).__name__
            try:
                facts["learning_rate"] = float(self.np.asarray(optimizer.learning_rate))
            except BaseException:  # noqa: BLE001 - schedules, hostile objects
                facts["learning_rate"] = None
        try:
            config = model.get_compile_config() or {}
        except BaseException:  # noqa: BLE001
            config = {}
        loss = config.get("loss", getattr(model, "loss", None))
        facts["loss"] = _jsonable(loss)
        facts["metrics"] = _jsonable(config.get("metrics"))
        facts["compiled"] = bool(getattr(model, "compiled", optimizer is not None))
        facts["compile_config"] = _jsonable(config)
        return facts

    # ---- the pipeline ------------------------------------------------------------------
    def import_modules(self) -> None:
        sys.path.insert(0, self.submission_dir)
        # After every real finder: only what is not installed reaches the stand-in.
        sys.meta_path.append(
            _MissingModules(self.submission_dir, self.plan.get("environment") or [], self)
        )
        for group, module_name in self.plan["modules"].items():
            if module_name in self.modules:
                continue
            ok, module = self.call(f"import:{module_name}", _import_fresh, module_name)
            self.modules[module_name] = module if ok else None
            self.note(f"import:{module_name}", group=group)

    def function(self, group: str, name: str):
        """The student's function, or an _Unavailable saying why there is none."""
        module_name = self.plan["modules"][group]
        module = self.modules.get(module_name)
        if module is None:
            return _Unavailable(name, module_name, module_failed=True)
        try:
            fn = getattr(module, name, None)
        except BaseException:  # noqa: BLE001 - a hostile module __getattr__
            fn = None
        return fn if callable(fn) else _Unavailable(name, module_name, module_failed=False)

    def run(self) -> None:
        np = self.np
        import keras
        import tensorflow as tf

        self.manifest["versions"] = {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
        }
        seed, threads = self.plan["seed"], self.plan["threads"]
        seed_everything(seed, threads)
        _track_optimizers()
        self.flush()
        self.import_modules()
        fb = _Fallbacks(self.inputs)
        plan = self.plan["plan"]
        outputs: dict[str, object] = {}

        def argument(value):
            """A plan argument: an input's copy, an earlier call's output, or a literal."""
            if isinstance(value, str):
                if value in outputs:
                    found = outputs[value]
                    if isinstance(found, _Handed):
                        return found.value
                    found = fb[value] if found is None else found
                    return None if found is None or isinstance(found, _Expected) else found.copy()
                return self.inputs[value].copy()
            return _literal(value)

        for step in plan["calls"]:
            name = step["name"]
            fn = self.function(step["module"], step["function"])
            args = [argument(a) for a in step["args"]]
            if any(a is None for a in args):
                self.manifest["calls"][name] = {
                    "status": "skipped",
                    "why": "an earlier step it needs gave no usable output",
                }
                outputs[name] = None
                continue
            ok, v = self.call(name, fn, *args)
            if step["keep"] == "value":
                # Handed unchanged to the calls that name it (fitted statistics, a scaler):
                # only its type is recorded; None is no usable output.
                self.note(name, result=self.guard(name, lambda v=v: {"type": _type_name(v)}))
                outputs[name] = _Handed(v) if ok and v is not None else None
                continue
            sampled = step["keep"] == "sample" and not self.plan.get("save_full")
            keep = SAMPLE_ROWS if sampled else None
            value = self.record_array(name, v, keep, fb[name])
            labels = step.get("labels_of")
            if labels and value is not None and not _encodes(value, self.inputs[labels]):
                # Wrong labels are that function's check alone: the model trains on the right ones.
                self.note(name, replaced="not a one-hot encoding of the training labels")
                value = None
            outputs[name] = value

        built = {}
        # Build every model before training any, so a run that times out while training
        # still has every architecture graded.
        for spec in plan["models"]:
            kind, fname = spec["name"], spec["builder"]
            seed_everything(seed, threads)
            fn = self.function(spec["module"], fname)
            args = tuple(_literal(a) for a in spec["args"])
            declared = tuple(int(d) for d in spec["input_shape"])
            ok, model = self.call(fname, fn, *args)
            self.note(fname, called_as=_called_as(fname, fn, args), input_shape=_shape(declared))
            facts = {"built_by": "student"}
            shape = declared
            if ok and _is_keras_model(model):
                pipeline = outputs.get(spec["x"])
                pipeline = pipeline if pipeline is not None else self.own.get(spec["x"])
                if pipeline is not None:
                    shape = tuple(int(d) for d in pipeline.shape[1:])
                facts["built_by_grader"] = self.guard(
                    fname, lambda m=model, s=shape: _build_if_unbuilt(m, s)
                )
            if ok:
                facts["untrained"] = self.guard(
                    fname, lambda m=model, k=kind, s=shape: self.save_model(k, "untrained", m, s)
                )
                facts["compile"] = self.guard(fname, lambda m=model: self.compile_facts(m))
                facts["built_file"] = self.guard(
                    fname, lambda m=model, k=kind: self.save_keras(k, "built", m)
                )
            self.manifest["models"][kind] = facts
            built[kind] = model if ok and _is_keras_model(model) else None
            self.flush()

        for spec in plan["models"]:
            kind = spec["name"]
            contract = (outputs.get(spec["x"]), outputs.get(spec["x_test"]))
            own = (self.own.get(spec["x"]), self.own.get(spec["x_test"]))
            x_tr, x_te = self.inputs_for(kind, built[kind], contract, own, fb[spec["x"]])
            if spec["y"] == "y_train":  # the data's own labels or targets
                y = (self.inputs["y_train"].copy(), None)
            else:
                y = (outputs.get(spec["y"]), fb[spec["y"]])
            self.train_one(spec, built[kind], x_tr, x_te, y)
            keras.backend.clear_session()

        self.manifest["finished"] = True
        self.flush()

    def guard(self, call: str, thunk):
        """Run grader-side code that touches student objects; record failures, never raise."""
        try:
            return thunk()
        except BaseException as exc:  # noqa: BLE001
            self.note(call, artifact_error=f"{type(exc).__name__}: {str(exc)[:300]}")
            return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}

    def train_one(self, spec: dict, model, x, x_test, labels: tuple) -> None:
        """Train, evaluate, save, load and predict with one model; `labels` is (the
        student's training labels, the reference's)."""
        np = self.np
        kind = spec["name"]
        plan = self.plan["plan"]
        budget = self.plan["budget"][kind]
        facts = self.manifest["models"][kind]
        seed_everything(self.plan["seed"], self.plan["threads"])
        if model is None:
            self.manifest["calls"][f"train:{kind}"] = {
                "status": "skipped",
                "why": f"{spec['builder']}() gave no model to train",
            }
            self.flush()
            return
        y = self.usable(f"train:{kind}", "labels", *labels)
        if x is None or y is None:
            function = spec["x"].split(":")[0]
            self.manifest["calls"][f"train:{kind}"] = {
                "status": "skipped",
                "why": f"{function}() gave no usable {plan['noun']} to train on"
                if x is None
                else "no usable labels to train on",
            }
            self.flush()
            return

        functions = {
            step: self.function(f["module"], f["function"])
            for step, f in plan["training"].items()
            if isinstance(f, dict)
        }
        before = _optimizer_steps()
        loop_optimizer = None
        ok, history = self.call(f"train:{kind}", functions["train"], model, x, y, **budget)
        if ok:
            facts["history_type"] = f"{type(history).__module__}.{type(history).__qualname__}"
            facts["history"] = self.guard(f"train:{kind}", lambda: _history_dict(history))
        try:
            facts["iterations"] = int(np.asarray(model.optimizer.iterations))
        except BaseException:  # noqa: BLE001
            facts["iterations"] = None
        skipped = self.guard(f"train:{kind}", lambda: _skipped_steps(model.optimizer))
        if isinstance(skipped, int) and skipped:
            facts["skipped_steps"] = skipped
        if not facts["iterations"]:
            # A hand-written loop (GradientTape over tf.data) steps an optimizer of its own,
            # not the compiled one: find whichever optimizer stepped during train().
            stepped = self.guard(f"train:{kind}", lambda: _stepped_since(before))
            if isinstance(stepped, list) and stepped:
                facts["loop"] = {"optimizer": stepped[0][0], "iterations": stepped[0][1]}
                facts["iterations"] = stepped[0][1]
                loop_optimizer = stepped[0][2]
            elif ok:
                facts["loop"] = {"optimizer": None, "iterations": None}
        facts["trained"] = self.guard(
            f"train:{kind}", lambda: self.save_model(kind, "trained", model)
        )
        facts["trained_file"] = self.guard(
            f"train:{kind}", lambda: self.save_keras(kind, "trained", model, loop_optimizer)
        )
        self.flush()

        evaluate = functions["evaluate"]
        x_eval, y_eval = x[:EVAL_ROWS], y[:EVAL_ROWS]
        facts["eval_data"] = self.save_arrays(f"{kind}_eval", x=x_eval, y=y_eval)
        ok, value = self.call(f"evaluate:{kind}", evaluate, model, x_eval, y_eval)
        if ok:
            self.note(f"evaluate:{kind}", result=_jsonable(value))

        save, load = functions["save"], functions["load"]
        suffix = plan["training"]["save_suffix"]
        path = os.path.join(self.plan["workdir"], f"{kind}{suffix}")
        ok, _ = self.call(f"save:{kind}", save, model, path)
        if ok:
            written = os.path.exists(path)
            self.note(f"save:{kind}", exists=written, path=path)
            found = path if written else _written_beside(path)
            if found is None:
                self.manifest["calls"][f"load:{kind}"] = {
                    "status": "skipped",
                    "why": f"save() wrote nothing at the path it was given ({path})",
                }
            else:
                if not written:  # the same name with another model suffix: kept, and said
                    self.note(f"save:{kind}", wrote_instead=os.path.basename(found))
                found_suffix = found[len(os.path.splitext(path)[0]) :]
                # load() must read the path it is given: the file moves to a fresh folder
                # under a new name, and load() runs there, so a hard-coded path finds nothing.
                fresh = os.path.join(self.plan["workdir"], f"reload-{kind}")
                moved = os.path.join(fresh, f"saved-{kind}{found_suffix}")
                given = os.path.join(fresh, f"saved-{kind}{suffix}")
                os.makedirs(fresh, exist_ok=True)
                os.replace(found, moved)
                here = os.getcwd()
                os.chdir(fresh)
                try:
                    ok, loaded = self.call(f"load:{kind}", load, given)
                finally:
                    os.chdir(here)
                self.note(
                    f"load:{kind}",
                    called_as=f"load({given!r}), after moving the file save() wrote there",
                )
                if ok:
                    facts["loaded"] = self.guard(
                        f"load:{kind}", lambda: self.save_model(kind, "loaded", loaded)
                    )
                # What save() wrote, for the trusted side to open itself (it tells the
                # format by the file's first bytes, never by this name).
                facts["saved_file"] = self.guard(
                    f"save:{kind}",
                    lambda: self.keep_file(moved, f"models/{kind}_saved{found_suffix}"),
                )
        else:
            self.manifest["calls"][f"load:{kind}"] = {"status": "skipped", "why": "save failed"}

        if x_test is None:
            function = spec["x_test"].split(":")[0]
            self.manifest["calls"][f"predict:{kind}"] = {
                "status": "skipped",
                "why": f"{function}() gave no usable test {plan['noun']}",
            }
            self.manifest["fallbacks"].setdefault(f"predict:{kind}", []).append("inputs")
            self.flush()
            return
        facts["test_inputs"] = self.save_arrays(f"{kind}_test_inputs", x=x_test)
        ok, preds = self.call(f"predict:{kind}", lambda: model.predict(x_test, verbose=0))
        if ok:
            self.record_array(f"predict:{kind}", preds, None, None)
        self.flush()


class _MissingModules:
    """Meta-path finder of last resort for student code: an import of a module that is not
    installed where grading runs succeeds with a stand-in, and only a use of it fails, with
    one line naming the module and the fix. So `import wandb` at the top of a .py behaves as
    it does in a notebook (whose imports are guarded): a helper that needs it cannot sink
    the module, and every submission form is treated the same. Imports made by installed
    packages (TensorFlow's optional ones) are never answered: they fail as they should."""

    def __init__(self, submission_dir: str, declared: list, runner: Runner) -> None:
        self.submission_dir = submission_dir + os.sep
        self.declared = sorted(str(d) for d in declared)
        self.runner = runner

    def _from_student(self) -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if not name.startswith("<frozen importlib") and "importlib" not in name:
                return os.path.realpath(name).startswith(self.submission_dir)
            frame = frame.f_back
        return False

    def find_spec(self, fullname, path=None, target=None):
        import importlib.machinery

        parent = fullname.rpartition(".")[0]
        if parent and not isinstance(sys.modules.get(parent), _StandIn):
            return None  # a missing part of an installed package (keras.utils.np_utils)
        if not self._from_student():
            return None
        top = fullname.split(".")[0]
        if top in sys.stdlib_module_names:
            return None
        declared = top in self.declared
        if declared:
            why = f"{top} is declared for this assignment but not installed: tell your instructor"
        else:
            allowed = ", ".join(self.declared) or "none"
            why = (
                f"the module {top!r} is not installed where your code is graded (besides NumPy, "
                f"TensorFlow and Keras, it has: {allowed}); remove its use from the functions "
                f"the grader calls, or guard it (try: import {top} except ImportError: ...)"
            )
        missing = self.runner.manifest.setdefault("missing_modules", {})
        missing[top] = why
        return importlib.machinery.ModuleSpec(fullname, _StandInLoader(why), is_package=True)


class _StandInLoader:
    def __init__(self, why: str) -> None:
        self.why = why

    def create_module(self, spec):
        return _StandIn(spec.name, self.why)

    def exec_module(self, module) -> None:
        pass


class _StandIn(type(sys)):
    """A module that is not there: any attribute is another stand-in, and calling, iterating
    or computing with one raises ModuleNotFoundError with the reason."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(name)
        object.__setattr__(self, "_why", why)
        object.__setattr__(self, "__path__", [])

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return _StandIn(f"{self.__name__}.{attr}", object.__getattribute__(self, "_why"))

    def _fail(self, *args, **kwargs):
        raise ModuleNotFoundError(f"No module named {self.__name__!r}: " + self._why)

    __call__ = __iter__ = __len__ = __getitem__ = __enter__ = _fail
    __add__ = __radd__ = __sub__ = __mul__ = __truediv__ = __float__ = __int__ = _fail


class _Fallbacks(dict):
    """What stands in for broken student steps, by call name: the reference's output of a
    labels call (`fb:<call>` in the inputs), and the shapes, never the values, of its other
    outputs (`shape:<call>`); absent: None."""

    def __init__(self, inputs: dict) -> None:
        super().__init__({k[3:]: v for k, v in inputs.items() if k.startswith("fb:")})
        for key, value in inputs.items():
            if key.startswith("shape:") and key[6:] not in self:
                self[key[6:]] = _Expected(tuple(int(d) for d in value))

    def __missing__(self, key: str):
        return None


class _Handed:
    """A call's result handed on as it is to the calls that name it (`keep = "value"`)."""

    def __init__(self, value) -> None:
        self.value = value


class _Expected:
    """The shape of an output the contract expects, standing where an array would."""

    def __init__(self, shape: tuple) -> None:
        self.shape = shape

    def __len__(self) -> int:
        return self.shape[0]


class _Unavailable(Exception):
    """A contract function the submission does not define, or whose module failed to import."""

    def __init__(self, name: str, module: str, module_failed: bool) -> None:
        if module_failed:
            why = f"{name}() is unavailable: module {module} failed to import"
        else:
            why = f"{name}() is not defined in the submission"
        super().__init__(why)
        self.module = module
        self.module_failed = module_failed


def _import_fresh(module_name: str):
    """Import a student module from the submission, never a same-named installed one."""
    import importlib

    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


def _type_name(value) -> str:
    """`module.Class` of a student's value, read off its class (str() of whatever a hostile
    metaclass answers)."""
    cls = type(value)
    return f"{str(getattr(cls, '__module__', '?'))[:100]}.{str(cls.__qualname__)[:100]}"


def _shape(value) -> str:
    """`(784,)` or `(28, 28, 1)`: a shape as a student writes it."""
    if isinstance(value, tuple):
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    return f"({value},)"


def _called_as(name: str, fn, args: tuple) -> str:
    """How the grader calls a builder, with the student's own parameter names where it can
    read them: `build(input_shape=(28, 28, 1), num_classes=10)`."""
    import inspect

    try:
        bound = inspect.signature(fn).bind(*args)
        return f"{name}({', '.join(f'{k}={v!r}' for k, v in bound.arguments.items())})"
    except BaseException:  # noqa: BLE001 - no signature, or one that does not take them
        return f"{name}({', '.join(map(repr, args))})"


_OPTIMIZERS: list = []
"""Every Keras optimizer created in this run (kept alive, so a hand-written loop's optimizer,
a local of train(), can still be read after train() returns)."""


def _track_optimizers() -> None:
    """Record every optimizer as it is created (before any student code runs)."""
    from keras.src.optimizers.base_optimizer import BaseOptimizer

    original = BaseOptimizer.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        _OPTIMIZERS.append(self)

    BaseOptimizer.__init__ = tracking_init


def _optimizer_steps() -> dict[int, int]:
    """Every optimizer created so far, by id, with its step count."""
    steps = {}
    for obj in _OPTIMIZERS:
        try:
            steps[id(obj)] = int(obj.iterations.numpy())
        except BaseException:  # noqa: BLE001 - half-built or hostile objects
            continue
    return steps


def _stepped_since(before: dict[int, int]) -> list[tuple]:
    """(class, steps taken) of the optimizers that stepped since `before`, most steps first;
    an optimizer wrapped for mixed precision is counted once, as its inner one."""
    inner = {id(getattr(o, "inner_optimizer", None)) for o in _OPTIMIZERS}
    found = []
    for obj in _OPTIMIZERS:
        if id(obj) in inner:
            continue  # counted through its wrapper
        try:
            taken = int(obj.iterations.numpy()) - before.get(id(obj), 0)
        except BaseException:  # noqa: BLE001
            continue
        if taken > 0:
            wrapped = getattr(obj, "inner_optimizer", None)
            found.append((type(wrapped or obj).__name__, taken, obj))
    return sorted(found, key=lambda item: -item[1])


def _skipped_steps(optimizer) -> int:
    """Steps a mixed-precision LossScaleOptimizer skipped (non-finite gradients halve its
    loss scale and leave `iterations` as it was): read back from the scale, exact while no
    scale growth has happened (fewer than `dynamic_growth_steps` steps)."""
    import math

    if optimizer is None or not hasattr(optimizer, "dynamic_scale"):
        return 0
    config = optimizer.get_config()
    if int(optimizer.iterations.numpy()) >= int(config.get("dynamic_growth_steps", 2000)):
        return 0
    scale = float(optimizer.dynamic_scale.numpy())
    initial = float(config.get("initial_scale", 2.0**15))
    return max(0, round(math.log2(initial / scale))) if scale > 0 else 0


def _declared(shape) -> tuple:
    """The builder's input-shape argument as a shape tuple: 784 -> (784,)."""
    return tuple(shape) if isinstance(shape, tuple) else (int(shape),)


def _input_shape(model) -> tuple | None:
    """The model's input shape without the batch axis, or None when it has none yet."""
    try:
        return tuple(model.inputs[0].shape[1:])
    except BaseException:  # noqa: BLE001 - unbuilt, subclassed, hostile
        return None


def _fits(wanted: tuple, shape: tuple) -> bool:
    return len(wanted) == len(shape) and all(
        w is None or w == s for w, s in zip(wanted, shape, strict=True)
    )


def _subclassed(model) -> bool:
    """A model of the student's own class (not a plain Sequential or functional Model)."""
    import keras

    return type(model) not in (keras.Sequential, keras.Model) and type(model).__name__ not in (
        "Sequential",
        "Functional",
    )


def _functional_subclass(model) -> bool:
    """A subclass built the functional way, `CustomModel(inputs, outputs)` (keras.io's
    "customizing fit" guide): its graph is already there, nothing to trace."""
    from keras.src.models.functional import Functional

    return isinstance(model, Functional) and bool(getattr(model, "outputs", None))


def _trace(model, shape: tuple | None):
    """A functional model of the same layers (sharing their weights), from calling the
    subclassed model on a symbolic input: Python control flow on values, TensorFlow ops on
    symbolic tensors or layers of the student's own make this raise, with Keras's reason."""
    import keras

    if shape is None:
        raise ValueError("the grader does not know its input shape")
    inputs = keras.Input(shape=tuple(shape))
    # call() itself, not model(...): calling the model would make it one opaque node, where
    # running its call() on a symbolic tensor records each built-in layer it uses.
    outputs = model.call(inputs)
    return keras.Model(inputs, outputs, name=getattr(model, "name", None) or "traced")


def _build_if_unbuilt(model, shape: tuple):
    """Build a model that has no input yet (`Sequential([Dense(512), ...])` without
    `keras.Input`, as in Deep Learning with Python) on the input shape the student's own
    pipeline feeds it, so its layers and shapes can be compared before training builds it.
    Returns the shape it was built on, or None when it was already built."""
    try:
        if model.built and model.inputs:
            return None
    except (AttributeError, ValueError):
        pass
    import numpy as np

    try:
        model.build((None, *shape))
    except BaseException:  # noqa: BLE001 - a subclassed model builds by being called
        model(np.zeros((1, *shape), dtype="float32"))
    return list(shape)


MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
"""Suffixes Keras saves whole models under."""


def _written_beside(path: str) -> str | None:
    """The file save() wrote instead of `path`: the same name with another model suffix
    (`model.keras` for `model.h5`), or with one appended (`model.h5.keras`); else None."""
    stem = os.path.splitext(path)[0]
    for candidate in [stem + s for s in MODEL_SUFFIXES] + [path + s for s in MODEL_SUFFIXES]:
        if candidate != path and os.path.isfile(candidate) and not os.path.islink(candidate):
            return candidate
    return None


def _literal(value):
    """A plan's literal argument: lists become tuples (shapes), numbers stay."""
    return tuple(_literal(v) for v in value) if isinstance(value, list) else value


def _encodes(y_hot, labels) -> bool:
    """Is y_hot a one-hot encoding of these labels (one 1 per row, in the label's column)?"""
    import numpy as np

    try:
        return bool(
            y_hot.ndim == 2
            and len(y_hot) == len(labels)
            and np.isin(y_hot, (0.0, 1.0)).all()
            and (y_hot.sum(axis=1) == 1).all()
            and (y_hot.argmax(axis=1) == labels).all()
        )
    except BaseException:  # noqa: BLE001
        return False


def _is_keras_model(value) -> bool:
    import keras

    return isinstance(value, keras.Model)


def _history_dict(history) -> dict:
    """The per-epoch series of a History (or of a plain dict a hand-written loop returned)."""
    raw = history if isinstance(history, dict) else getattr(history, "history", None)
    if not isinstance(raw, dict):
        return {}
    series = {}
    for key, values in raw.items():
        try:
            series[str(key)] = [float(x) for x in values]
        except BaseException:  # noqa: BLE001 - not a series of numbers: not an epoch log
            continue
    return series


def _jsonable(value):
    """A JSON-safe rendering of loss/metric settings (strings stay strings)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    name = getattr(value, "name", None) or getattr(value, "__name__", None)
    return {"class": type(value).__name__, "name": str(name) if name else None}


def main(argv: list[str]) -> int:
    """Entry point inside the sandbox: `python -I runner.py PLAN.json`."""
    with open(argv[1], encoding="utf-8") as f:
        plan = json.load(f)
    os.chdir(plan["workdir"])
    Runner(plan).run()
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    os._exit(main(sys.argv))  # os._exit: no student atexit hook may run after we finish
