"""Calibrate an assignment's grading margin: the reference's test metric over many seeds.

Runs the reference solution of any plan-driven assignment in this process (no sandbox), as the
sandbox's harness runs it: the plan's calls in order, each model built and trained with the
budget's settings after seeding, then its test metric by its task kind (accuracy, or the mean
absolute error for a regression). One line per seed, then min / median / max and the spread,
which the assignment's margin must cover (`accuracy_margin` >= the accuracy spread;
`error_factor` >= max / min of the error). The tables of reference/cancer/README.md and
reference/diabetes/README.md come from it.

    .venv/bin/python benchmarks/calibrate.py --assignment cancer --budget bundled --seeds 0-9
    .venv/bin/python benchmarks/calibrate.py --assignment diabetes --budget quick --seeds 0-9
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from bare_reference import load_module  # noqa: E402
from reference_seeds import _seeds  # noqa: E402


def run_once(config, modules: dict, split, budget, seed: int) -> dict[str, float]:
    """The reference's plan, seeded with `seed`: model name -> test metric."""
    import keras
    import numpy as np

    from grader.check.tasks import task
    from grader.run.local import training_inputs
    from grader.run.runner import seed_everything

    inputs = training_inputs(split, budget, config)
    y_test = split[1][1]
    functions = config.functions

    def function(name: str):
        return getattr(modules[functions[name]], name)

    def argument(value, outputs):
        if isinstance(value, str):
            return outputs[value] if value in outputs else np.array(inputs[value])
        return value

    keras.backend.clear_session()
    seed_everything(seed, config.threads)
    outputs: dict[str, object] = {}
    for call in config.plan.calls:
        outputs[call.name] = function(call.function)(
            *(argument(a, outputs) for a in call.args)
        )
    training = config.plan.training
    metrics = {}
    for spec in config.plan.models:
        seed_everything(seed, config.threads)
        model = function(spec.builder)(*spec.args)
        y = inputs["y_train"] if spec.y == "y_train" else outputs[spec.y]
        seed_everything(seed, config.threads)
        function(training.train)(
            model, outputs[spec.x], y, **dataclasses.asdict(budget.model(spec.name))
        )
        predictions = model.predict(outputs[spec.x_test], verbose=0)
        metrics[spec.name] = task(spec.task).measure(predictions, y_test)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--budget", default="bundled")
    parser.add_argument("--seeds", nargs="+", default=["0-9"], help="seeds or ranges (0-9)")
    parser.add_argument("--json", help="write the runs here")
    args = parser.parse_args()

    from grader.check.tasks import task
    from grader.config import find_assignment
    from grader.data import load_data

    config = find_assignment(args.assignment)
    budget = config.budget(args.budget)
    modules = {
        name: load_module(config.root, name, f"calibrate_{name}") for name in config.modules
    }
    split = load_data(config, "bundled")
    print(f"{config.name}, budget {args.budget}, threads {config.threads}")
    runs = []
    for seed in _seeds(args.seeds):
        start = time.perf_counter()
        metrics = run_once(config, modules, split, budget, seed)
        seconds = time.perf_counter() - start
        runs.append({"seed": seed, **metrics, "seconds": seconds})
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        print(f"seed {seed:>5}: {shown}  ({seconds:.1f} s)")
    for spec in config.plan.models:
        kind = task(spec.task)
        values = [r[spec.name] for r in runs]
        low, high = min(values), max(values)
        spread = (
            f"spread {high - low:.4f} (accuracy points)"
            if kind.higher_is_better
            else f"max/min {high / low:.3f}"
        )
        print(
            f"{spec.name} ({kind.metric}): min {low:.4f} median {statistics.median(values):.4f} "
            f"max {high:.4f} over {len(values)} seeds; {spread}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
