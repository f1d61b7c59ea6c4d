"""How much the reference's test accuracy depends on the seed (and on oneDNN).

Trains the reference MLP and CNN on the bundled split under a budget (as tests/test_reference.py
does, in this process: no sandbox), once per seed, and prints one line per run and the range.
The floors of tests/test_reference.py and the figures of reference/mnist/README.md come from it.

    .venv/bin/python benchmarks/reference_seeds.py --seeds 1234 0-13            # ~4 min
    TF_ENABLE_ONEDNN_OPTS=0 .venv/bin/python benchmarks/reference_seeds.py ...  # oneDNN off
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from bare_reference import MODULES, REFERENCE, load_module  # noqa: E402


def _seeds(values: list[str]) -> list[int]:
    seeds = []
    for value in values:
        low, _, high = value.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", default=["1234"], help="seeds or ranges (0-13)")
    parser.add_argument("--budget", default="bundled")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--json", help="write the runs here")
    args = parser.parse_args()

    import keras

    from grader.config import find_assignment
    from grader.data import load_data
    from grader.run.runner import seed_everything

    pre, models, training = (load_module(REFERENCE, name, name) for name in MODULES)
    config = find_assignment("mnist")
    budget = config.budget(args.budget)
    (x_train, y_train), (x_test, y_test) = load_data(find_assignment("mnist"), "bundled")
    n = budget.train_samples
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")
    print(f"budget {args.budget}, TF_ENABLE_ONEDNN_OPTS={onednn}, threads {config.threads}")
    runs = []
    for kind in args.models.split(","):
        spec = budget.model(kind)
        prepare = pre.flatten_and_scale if kind == "mlp" else pre.reshape_for_cnn
        for seed in _seeds(args.seeds):
            keras.backend.clear_session()
            seed_everything(seed, config.threads)
            model = models.build_mlp() if kind == "mlp" else models.build_cnn()
            start = time.perf_counter()
            training.train(
                model, prepare(x_train[:n]), pre.one_hot(y_train[:n]),
                epochs=spec.epochs, batch_size=spec.batch_size,
                validation_split=spec.validation_split,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            _, accuracy = training.evaluate(model, prepare(x_test), pre.one_hot(y_test))
            runs.append({"model": kind, "seed": seed, "accuracy": accuracy, "train_s": seconds})
            print(f"{kind} seed {seed:>5}: test accuracy {accuracy:.4f}  (train {seconds:.1f} s)")
        accuracies = [r["accuracy"] for r in runs if r["model"] == kind]
        print(
            f"{kind}: min {min(accuracies):.4f} median {statistics.median(accuracies):.4f} "
            f"max {max(accuracies):.4f} over {len(accuracies)} seeds"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
