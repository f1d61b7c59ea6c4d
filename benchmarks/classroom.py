"""A generated class of varied submissions for the benchmarks (stdlib only; no TensorFlow).

Most are the reference with one realistic change (they train like the reference), in every
form a student hands in (folder, single `.py`, notebook, zip); a few are stubs or partly
done; a few are broken (syntax error, failing import, exit at import, hard crash, refused
zip). Every change is a literal replacement that must apply: if the reference changes, the
generator fails loudly instead of silently grading 30 copies.

Usage: python benchmarks/classroom.py DEST [--size 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference" / "mnist"
STUBS = REPO / "assignments" / "mnist"
MODULES = ("preprocessing", "models", "training")

MLP_HIDDEN = 'layers.Dense(512, activation="relu"),'
SCALE = 'return images.reshape(images.shape[0], num_pixels).astype("float32") / 255'
ONE_HOT = 'return keras.utils.to_categorical(labels, num_classes).astype("float32")'
CONV1 = 'layers.Conv2D(32, kernel_size=(3, 3), activation="relu", padding="same"),'

# name -> {module: [(old, new), ...]}: one realistic change each (applied to all matches).
VARIATIONS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "units_256": {"models": [(MLP_HIDDEN, MLP_HIDDEN.replace("512", "256"))]},
    "units_128": {"models": [(MLP_HIDDEN, MLP_HIDDEN.replace("512", "128"))]},
    "extra_layer": {
        "models": [(MLP_HIDDEN, MLP_HIDDEN + '\n            layers.Dense(128, activation="relu"),')]
    },  # fmt: skip
    "dropout": {"models": [(MLP_HIDDEN, MLP_HIDDEN + "\n            layers.Dropout(0.2),")]},
    "cnn_no_padding": {"models": [('padding="same"', 'padding="valid"')]},
    "cnn_16_filters": {"models": [(CONV1, CONV1.replace("32", "16"))]},
    "sigmoid_output": {"models": [('activation="softmax"', 'activation="sigmoid"')]},
    "adam": {"models": [('optimizer="rmsprop"', 'optimizer="adam"')]},
    "explicit_rmsprop": {
        "models": [
            ('optimizer="rmsprop"', "optimizer=keras.optimizers.RMSprop(learning_rate=0.001)")
        ]
    },
    "no_scaling": {"preprocessing": [(SCALE, SCALE.replace(" / 255", ""))]},
    "labels_not_one_hot": {"preprocessing": [(ONE_HOT, 'return labels.astype("float32")')]},
    "ignores_epochs": {"training": [("epochs=epochs,", "epochs=1,")]},
    "sparse_loss": {
        "models": [('loss="categorical_crossentropy"', 'loss="sparse_categorical_crossentropy"')]
    },  # fmt: skip
    "batch_32": {"training": [("batch_size=batch_size,", "batch_size=32,")]},
    "verbose_1": {"training": [("verbose=2", "verbose=1")]},
    "save_weights_only": {
        "training": [("model.save(path)", 'model.save_weights(path + ".weights.h5")')]
    },
}
BROKEN = {
    "syntax_error": {"models": [("def build_cnn(", "def build_cnn(:")]},
    "bad_import": {
        "preprocessing": [
            ("import numpy as np", "import numpy as np\nfrom keras.utils import np_utils")
        ]
    },  # fmt: skip
    "exit_at_import": {
        "training": [
            ("import keras\n", "import keras\nimport sys\nsys.exit('no GPU, giving up')\n")
        ]
    },  # fmt: skip
    "hard_crash": {
        "training": [
            ("    return model.fit(", "    import os\n    os._exit(3)\n    return model.fit(")
        ]
    },  # fmt: skip
}


def reference_code() -> dict[str, str]:
    return {m: (REFERENCE / f"{m}.py").read_text() for m in MODULES}


def changed(code: dict[str, str], changes: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    out = dict(code)
    for module, edits in changes.items():
        for old, new in edits:
            if old not in out[module]:
                why = f"{old!r} not found in {module}.py (did the reference change?)"
                raise SystemExit(f"classroom: {why}")
            out[module] = out[module].replace(old, new)
    return out


def write_folder(dest: Path, code: dict[str, str]) -> Path:
    dest.mkdir(parents=True)
    for module, text in code.items():
        (dest / f"{module}.py").write_text(text)
    return dest


def write_notebook(dest: Path, code: dict[str, str]) -> Path:
    """One code cell per module, plus a markdown cell and a top-level training cell that the
    grader's loader drops (as students' notebooks have)."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# My MNIST solution"]}]
    for text in code.values():
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None,
                      "outputs": [], "source": text.splitlines(keepends=True)})  # fmt: skip
    own_run = ["(x_train, y_train), _ = keras.datasets.mnist.load_data()\n",
               "model = build_mlp()\n", "model.fit(x_train, y_train)\n"]  # fmt: skip
    cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                  "source": own_run})  # fmt: skip
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    dest.write_text(json.dumps(nb, indent=1))
    return dest


def make_class(dest: Path, size: int = 30) -> list[Path]:
    """Write `size` submissions into `dest` (created); returns them sorted by name."""
    dest.mkdir(parents=True)
    ref = reference_code()
    stubs = {m: (STUBS / f"{m}.py").read_text() for m in MODULES}
    makers = []
    makers.append(("copy_folder", lambda p: write_folder(p, ref)))
    makers.append(("copy_py", lambda p: _single_py(p.with_suffix(".py"), ref)))
    makers.append(("copy_ipynb", lambda p: write_notebook(p.with_suffix(".ipynb"), ref)))
    makers.append(("copy_zip", lambda p: _zip_folder(p, ref)))
    for name, changes in VARIATIONS.items():
        makers.append((name, lambda p, c=changes: write_folder(p, changed(ref, c))))
    makers.append(("stubs", lambda p: write_folder(p, stubs)))
    makers.append(
        (
            "stubs_notebook",
            lambda p: shutil.copyfile(STUBS / "mnist.ipynb", p.with_suffix(".ipynb")),
        )
    )
    makers.append(
        (
            "preprocessing_done",
            lambda p: write_folder(p, {**stubs, "preprocessing": ref["preprocessing"]}),
        )
    )
    makers.append(
        (
            "models_done",
            lambda p: write_folder(
                p, {**stubs, "preprocessing": ref["preprocessing"], "models": ref["models"]}
            ),
        )
    )
    for name, changes in BROKEN.items():
        makers.append((name, lambda p, c=changes: write_folder(p, changed(ref, c))))
    makers.append(("not_a_zip", lambda p: p.with_suffix(".zip").write_bytes(b"PK\x03\x04junk")))
    made = []
    for index in range(size):
        name, make = makers[index % len(makers)]
        base = f"s{index:02d}_{name}"
        make(dest / base)
        made.append(base)
    return sorted(dest.iterdir())


def _single_py(path: Path, code: dict[str, str]) -> Path:
    path.write_text("\n\n".join(code[m] for m in MODULES))
    return path


def _zip_folder(path: Path, code: dict[str, str]) -> Path:
    target = path.with_suffix(".zip")
    with zipfile.ZipFile(target, "w") as zf:
        for module, text in code.items():
            zf.writestr(f"{path.name}/{module}.py", text)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--size", type=int, default=30)
    args = parser.parse_args()
    for path in make_class(args.dest, args.size):
        print(path.name)


if __name__ == "__main__":
    main()
