"""The nbgrader course of benchmarks/vs_nbgrader.py: its notebooks (stdlib only, no TensorFlow).

- `source_notebook(budget)`: the instructor's `mnist.ipynb` for `nbgrader generate_assignment`:
  a locked set-up cell (imports; the bundled split read from `mnist_bundled.npz` beside the
  notebook), three solution cells (the reference modules, whose `# BEGIN SOLUTION` markers
  nbgrader understands), and eight locked autograded test cells worth 100 points that check
  what keras-grader's checks check, nbgrader's way, with the grading budget of
  `reference/mnist/assignment.toml` written into them.
- `student_notebook(released, spelling, explore)`: the released notebook as a student hands it
  in: the solution cells filled in (the reference's code, or the example notebook's own cells,
  `second_spelling()`), and optionally an exploratory cell that trains a model for 10 epochs.
- `students(n)`: who is who: every other student explores; both spellings in both halves.
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference" / "mnist"
KERNEL = "keras-grader-bench"
ASSIGNMENT = "mnist"
DATA_FILE = "mnist_bundled.npz"
MODULES = ("preprocessing", "models", "training")
EXAMPLE = REPO / "examples" / "mnist" / "submissions" / "notebook_student.ipynb"
"""The second spelling of the solution: this example notebook's own definition cells."""
FLOORS = {"bundled": {"mlp": 0.89, "cnn": 0.88}, "quick": {"mlp": 0.75, "cnn": 0.40}}
"""Minimum test accuracy per budget: bundled, reference/mnist/README.md's floors; quick (a
smoke budget: 1,000 images, 3 and 2 epochs), below the reference's 0.83-0.85 (MLP) and
0.53-0.76 (CNN) over seeds."""
SEED = 1234
FULL_MARKS = 100.0

SETUP = """\
import numpy as np
import keras

with np.load("{data}") as data:
    x_train, y_train = data["x_train"], data["y_train"]
    x_test, y_test = data["x_test"], data["y_test"]
print(x_train.shape, x_test.shape)
"""

EXPLORE = {
    "mlp": """\
# Trying it out before handing in: the MLP on all the training images, 10 epochs
model = build_mlp()
history = train(model, flatten_and_scale(x_train), one_hot(y_train),
                epochs=10, batch_size=128, validation_split=0.2)
print("test accuracy:", evaluate(model, flatten_and_scale(x_test), one_hot(y_test))[1])
""",
    "cnn": """\
# Trying it out before handing in: the CNN on all the training images, 10 epochs
model = build_cnn()
history = train(model, reshape_for_cnn(x_train), one_hot(y_train),
                epochs=10, batch_size=200, validation_split=0.1)
print("test accuracy:", evaluate(model, reshape_for_cnn(x_test), one_hot(y_test))[1])
""",
}

# (grade_id, points, source): nbgrader's autograded tests; {names} from the budget.
TESTS = [
    (
        "test_flatten_and_scale",
        7,
        """\
flat = flatten_and_scale(x_train[:100])
assert isinstance(flat, np.ndarray) and flat.shape == (100, 784), getattr(flat, "shape", None)
assert np.issubdtype(flat.dtype, np.floating), flat.dtype
np.testing.assert_allclose(flat, x_train[:100].reshape(100, 784) / 255, rtol=1e-6)
""",
    ),
    (
        "test_reshape_for_cnn",
        7,
        """\
images = reshape_for_cnn(x_train[:100])
assert isinstance(images, np.ndarray) and images.shape == (100, 28, 28, 1)
assert np.issubdtype(images.dtype, np.floating), images.dtype
np.testing.assert_allclose(images[..., 0], x_train[:100] / 255, rtol=1e-6)
""",
    ),
    (
        "test_one_hot",
        6,
        """\
labels = np.array([5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
rows = one_hot(labels, 10)
assert isinstance(rows, np.ndarray) and rows.shape == (10, 10)
assert np.issubdtype(rows.dtype, np.floating), rows.dtype
np.testing.assert_array_equal(rows, np.eye(10)[labels])
""",
    ),
    (
        "test_mlp_architecture",
        10,
        """\
mlp = build_mlp(784, 10)
assert [type(layer).__name__ for layer in mlp.layers] == ["Dense", "Dense"]
assert [layer.units for layer in mlp.layers] == [512, 10]
assert [layer.get_config()["activation"] for layer in mlp.layers] == ["relu", "softmax"]
assert mlp.count_params() == 407050, mlp.count_params()
assert type(mlp.optimizer).__name__ == "RMSprop", mlp.optimizer
assert mlp.loss == "categorical_crossentropy", mlp.loss
""",
    ),
    (
        "test_cnn_architecture",
        10,
        """\
cnn = build_cnn((28, 28, 1), 10)
assert [type(layer).__name__ for layer in cnn.layers] == [
    "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dense", "Dense"]
assert cnn.output_shape == (None, 10)
assert cnn.layers[-1].get_config()["activation"] == "softmax"
assert cnn.count_params() == 257162, cnn.count_params()
assert type(cnn.optimizer).__name__ == "RMSprop", cnn.optimizer
assert cnn.loss == "categorical_crossentropy", cnn.loss
""",
    ),
    (
        "test_mlp_training",
        25,
        """\
# The grading budget: the first {train_samples} training images, {mlp_epochs} epochs
keras.utils.set_random_seed({seed})
mlp = build_mlp()
history = train(mlp, flatten_and_scale(x_train[:{train_samples}]),
                one_hot(y_train[:{train_samples}]), epochs={mlp_epochs},
                batch_size={mlp_batch_size}, validation_split={mlp_validation_split})
assert len(history.history["loss"]) == {mlp_epochs}
assert "accuracy" in history.history
mlp_loss, mlp_accuracy = evaluate(mlp, flatten_and_scale(x_test), one_hot(y_test))
print("MLP test accuracy:", mlp_accuracy)
assert mlp_accuracy >= {mlp_floor}
""",
    ),
    (
        "test_cnn_training",
        25,
        """\
# The grading budget: the first {train_samples} training images, {cnn_epochs} epochs
keras.utils.set_random_seed({seed})
cnn = build_cnn()
history = train(cnn, reshape_for_cnn(x_train[:{train_samples}]),
                one_hot(y_train[:{train_samples}]), epochs={cnn_epochs},
                batch_size={cnn_batch_size}, validation_split={cnn_validation_split})
assert len(history.history["loss"]) == {cnn_epochs}
cnn_loss, cnn_accuracy = evaluate(cnn, reshape_for_cnn(x_test), one_hot(y_test))
print("CNN test accuracy:", cnn_accuracy)
assert cnn_accuracy >= {cnn_floor}
""",
    ),
    (
        "test_save_load",
        10,
        """\
for trained, images, path in [(mlp, flatten_and_scale(x_test[:200]), "mlp.keras"),
                              (cnn, reshape_for_cnn(x_test[:200]), "cnn.keras")]:
    save(trained, path)
    again = load(path)
    np.testing.assert_allclose(again.predict(images, verbose=0),
                               trained.predict(images, verbose=0), atol=1e-5)
""",
    ),
]


# ---- the notebooks -------------------------------------------------------------------------


def _cell(kind: str, source: str, nbgrader: dict | None = None) -> dict:
    cell: dict = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {
            "grade": False,
            "locked": False,
            "schema_version": 3,
            "solution": False,
            "task": False,
            **nbgrader,
        }
    return cell


def budget_of(name: str) -> dict:
    """The `[budget.<name>]` table of the MNIST assignment: what `grader grade` trains with."""
    budgets = tomllib.loads((REFERENCE / "assignment.toml").read_text())["budget"]
    if name not in budgets or name not in FLOORS:
        raise SystemExit(f"budget {name!r}: this benchmark knows {', '.join(sorted(FLOORS))}")
    return budgets[name]


def reference_code(module: str, markers: bool) -> str:
    """A reference module without its docstring: the instructor's solution cell (with the
    solution markers) or a student's (without them)."""
    text = (REFERENCE / f"{module}.py").read_text()
    tree = ast.parse(text)
    start = tree.body[1].lineno if ast.get_docstring(tree) else 1
    lines = text.splitlines()[start - 1 :]
    if not markers:
        lines = [
            line for line in lines if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line
        ]
    return "\n".join(lines).strip() + "\n"


def _defined(code: str) -> set[str]:
    """The names of the functions `code` defines at its top level (none for a cell that is not
    Python: a magic, a shell line)."""
    try:
        return {n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)}
    except SyntaxError:
        return set()


def second_spelling() -> dict[str, str]:
    """Each module's code as the example notebook writes it: the code cell that defines the
    same functions as that reference module, the notebook's imports (not its magics or shell
    lines) at the head of the first."""
    owner = {name: module for module in MODULES
             for name in _defined((REFERENCE / f"{module}.py").read_text())}  # fmt: skip
    sources = ["".join(c["source"]) for c in json.loads(EXAMPLE.read_text())["cells"]
               if c["cell_type"] == "code"]  # fmt: skip
    imports, cells = [], {}
    for source in sources:
        lines = source.splitlines()
        imports += [line for line in lines if line.startswith(("import ", "from "))]
        modules = {owner[name] for name in _defined(source) if name in owner}
        if len(modules) == 1:
            cells[modules.pop()] = source.strip() + "\n"
    missing = [m for m in MODULES if m not in cells]
    if missing:
        raise SystemExit(f"{EXAMPLE} defines no cell of {', '.join(missing)}")
    cells[MODULES[0]] = "\n".join(imports) + "\n\n\n" + cells[MODULES[0]]
    return cells


def source_notebook(budget_name: str) -> dict:
    """The instructor's notebook: set-up, solution cells, autograded tests (100 points)."""
    budget, floors = budget_of(budget_name), FLOORS[budget_name]
    values = {"seed": SEED, "train_samples": budget["train_samples"]}
    for model in ("mlp", "cnn"):
        values[f"{model}_floor"] = floors[model]
        for key in ("epochs", "batch_size", "validation_split"):
            values[f"{model}_{key}"] = budget[model].get(key, 0.0)
    cells = [
        _cell(
            "markdown",
            "# MNIST: a dense network and a CNN with Keras\n\nFill in the "
            "functions below; the locked cells test them.",
        ),
        _cell("code", SETUP.format(data=DATA_FILE), {"grade_id": "setup", "locked": True}),
    ]
    for module in MODULES:
        cells.append(_cell("markdown", f"## {module.capitalize()}"))
        cells.append(
            _cell(
                "code", reference_code(module, markers=True), {"grade_id": module, "solution": True}
            )
        )
    cells.append(_cell("markdown", "## Tests"))
    for grade_id, points, source in TESTS:
        cells.append(
            _cell(
                "code",
                source.format(**values),
                {"grade_id": grade_id, "grade": True, "locked": True, "points": points},
            )
        )
    assert sum(points for _, points, _ in TESTS) == FULL_MARKS
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {
                "name": KERNEL,
                "display_name": "Python 3 (keras-grader venv)",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 4,
    }


def students(n: int) -> list[tuple[str, str, bool]]:
    """(id, spelling, explores) per student: every other one explores, and both spellings
    are among the clean and the exploring ones."""
    out = []
    for i in range(n):
        explores = i % 2 == 1
        spelling = "reference" if (i // 2) % 2 == 0 else "second"
        out.append((f"s{i + 1:02d}_{'explore' if explores else 'clean'}", spelling, explores))
    return out


def student_notebook(released: dict, spelling: str, explore: str | None) -> dict:
    """The released notebook as a student hands it in: solution cells filled in, and an
    exploratory training cell after the last of them if `explore` names a model."""
    nb = json.loads(json.dumps(released))
    second = second_spelling() if spelling == "second" else {}
    cells = []
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in MODULES:
            code = (
                reference_code(grade_id, markers=False)
                if spelling == "reference"
                else second[grade_id]
            )
            cell["source"] = code
        cells.append(cell)
        if grade_id == MODULES[-1] and explore:
            cells.append(_cell("code", EXPLORE[explore]))
    nb["cells"] = cells
    return nb
