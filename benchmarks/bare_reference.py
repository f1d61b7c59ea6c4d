"""The reference's phase-1 work with no grader around it: the baseline of the benchmarks.

In one fresh Python process, with the grading budget, data and seed, this does what the
sandboxed runner does with a submission, minus everything the grader adds (sandbox, artifacts,
checks, reports): preprocess (train and test images), one-hot (probe and training labels),
build the MLP and the CNN, then for each: train, evaluate (first 512 training rows), save,
load, predict the test images. The modules are imported directly from the code directory.

Where a step of a (student's) submission fails, it stands in exactly as the runner does: the
reference's preprocessing outputs and model (so `--code` gives the bare cost of any
submission), and failed train/evaluate/save/load calls are just skipped.

Usage:
    python benchmarks/bare_reference.py [--code DIR] [--budget bundled] [--plain]

Prints one JSON line: seconds spent importing TensorFlow and per step, measured inside, and
a digest of both models' test predictions (equal digests: the same, deterministic work).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference" / "mnist"
DATA = REPO / "grader" / "data" / "mnist_5k.npz"
MODULES = ("preprocessing", "models", "training")
EVAL_ROWS = 512
PROBE_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5, 3, 6, 1, 7, 2, 8, 6, 9, *range(10)]


def load_module(directory: Path, name: str, alias: str):
    """Import `directory/<name>.py` under `alias` (None if it cannot be imported)."""
    path = directory / f"{name}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(alias, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:  # noqa: BLE001 - a broken submission: its functions are missing
        return None
    return module


def settings(assignment: Path, budget_name: str) -> dict:
    data = tomllib.loads((assignment / "assignment.toml").read_text())
    return {"seed": data.get("seed", 1234), "threads": data.get("threads", 2),
            "budget": data["budget"][budget_name]}  # fmt: skip


def load_data(train_samples: int):
    """The bundled split, as grader.data makes it (train/test stratified, 4,000/1,000)."""
    sys.path.insert(0, str(REPO))
    from grader.config import find_assignment
    from grader.data import load_data

    (x_train, y_train), (x_test, _) = load_data(find_assignment("mnist"), "bundled")
    return x_train[:train_samples], y_train[:train_samples], x_test


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=REFERENCE,
                        help="directory with preprocessing.py, models.py, training.py "
                             "(or submission.py)")  # fmt: skip
    parser.add_argument("--assignment", type=Path, default=REFERENCE)
    parser.add_argument("--budget", default="bundled")
    parser.add_argument("--plain", action="store_true",
                        help="no op determinism and TensorFlow's default threads")  # fmt: skip
    args = parser.parse_args(argv)
    cfg = settings(args.assignment, args.budget)
    budget, seed, threads = cfg["budget"], cfg["seed"], cfg["threads"]
    times: dict[str, float] = {}

    t = time.perf_counter()
    import keras
    import numpy as np
    import tensorflow as tf

    times["import"] = time.perf_counter() - t

    def seed_everything() -> None:
        random.seed(seed)
        np.random.seed(seed)
        keras.utils.set_random_seed(seed)
        if args.plain:
            return
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
        tf.config.experimental.enable_op_determinism()

    t = time.perf_counter()
    seed_everything()
    ref = {m: load_module(REFERENCE, m, f"_bare_reference_{m}") for m in MODULES}
    if (args.code / "submission.py").is_file():
        single = load_module(args.code, "submission", "submission")
        mine = dict.fromkeys(MODULES, single)
    else:
        mine = {m: load_module(args.code, m, m) for m in MODULES}
    x_train, y_train, x_test = load_data(budget["train_samples"])
    times["setup"] = time.perf_counter() - t

    def call(module: str, name: str, *a, **kw):
        fn = getattr(mine[module], name, None)
        try:
            return True, fn(*a, **kw)
        except BaseException:  # noqa: BLE001 - as the runner: record and go on
            return False, None

    def value_or_reference(module: str, name: str, *a):
        ok, value = call(module, name, *[x.copy() for x in a[:1]], *a[1:])
        try:
            arr = np.asarray(value, dtype="float32") if ok else None
        except BaseException:  # noqa: BLE001
            arr = None
        reference = getattr(ref[module], name)(*a)
        return arr if arr is not None and arr.shape == reference.shape else reference

    t = time.perf_counter()
    flat_train = value_or_reference("preprocessing", "flatten_and_scale", x_train)
    flat_test = value_or_reference("preprocessing", "flatten_and_scale", x_test)
    cnn_train = value_or_reference("preprocessing", "reshape_for_cnn", x_train)
    cnn_test = value_or_reference("preprocessing", "reshape_for_cnn", x_test)
    call("preprocessing", "one_hot", np.array(PROBE_LABELS, dtype=np.uint8), 10)
    y_hot = value_or_reference("preprocessing", "one_hot", y_train, 10)
    times["preprocess"] = time.perf_counter() - t

    t = time.perf_counter()
    built = {}
    for kind, args_ in (("mlp", (784, 10)), ("cnn", ((28, 28, 1), 10))):
        seed_everything()
        ok, model = call("models", f"build_{kind}", *args_)
        built[kind] = model if ok and isinstance(model, keras.Model) else None
    times["build"] = time.perf_counter() - t

    data = {"mlp": (flat_train, flat_test), "cnn": (cnn_train, cnn_test)}
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("mlp", "cnn"):
            t = time.perf_counter()
            seed_everything()
            model = built[kind] or getattr(ref["models"], f"build_{kind}")()
            x, x_te = data[kind]
            spec = budget[kind]
            call("training", "train", model, x, y_hot, epochs=spec["epochs"],
                 batch_size=spec["batch_size"],
                 validation_split=spec.get("validation_split", 0.0))  # fmt: skip
            times[f"train_{kind}"] = time.perf_counter() - t
            t = time.perf_counter()
            call("training", "evaluate", model, x[:EVAL_ROWS], y_hot[:EVAL_ROWS])
            path = os.path.join(tmp, f"{kind}.keras")
            if call("training", "save", model, path)[0]:
                call("training", "load", path)
            predictions = model.predict(x_te, verbose=0)
            digest.update(np.ascontiguousarray(predictions, dtype=np.float32).tobytes())
            keras.backend.clear_session()
            times[f"after_{kind}"] = time.perf_counter() - t
    times["total_inside"] = time.perf_counter() - STARTED
    return {**{k: round(v, 3) for k, v in times.items()}, "predictions": digest.hexdigest()[:16]}


if __name__ == "__main__":
    print(json.dumps(main()), flush=True)
    os._exit(0)  # as the runner: no slow interpreter teardown of TensorFlow
