"""Student submissions of the tabular labs (cancer: binary; diabetes: regression), written as
edits of the reference solution: each case is the reference with one realistic change, so the
case says exactly what the student did differently. `materialize` writes a case as the folder
a student would hand in (the reference's modules, solution markers removed, edits applied), or
as one .py file where the case says so."""

from __future__ import annotations

import re
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
MODULES = ("preprocessing", "models", "training")

SKLEARN_SCALER = (
    "preprocessing",
    [
        ("import numpy as np\n",
         "import numpy as np\nfrom sklearn.preprocessing import StandardScaler\n"),
        ("return features.mean(axis=0), features.std(axis=0)",
         "return StandardScaler().fit(features)"),
        ("mean, std = scaler\n    return ((features - mean) / std).astype(\"float32\")",
         "return scaler.transform(features).astype(\"float32\")"),
    ],
)  # fmt: skip
PANDAS_STD = (
    "preprocessing",
    [
        ("import numpy as np\n", "import numpy as np\nimport pandas as pd\n"),
        ("return features.mean(axis=0), features.std(axis=0)",
         "frame = pd.DataFrame(features)\n"
         "    return frame.mean().to_numpy(), frame.std().to_numpy()"),
    ],
)  # fmt: skip
REFIT_ON_EACH_SPLIT = (
    "preprocessing",
    [("mean, std = scaler\n",
      "mean, std = features.mean(axis=0), features.std(axis=0)  # refit on this split\n")],
)  # fmt: skip
NO_SCALING = ("preprocessing", [("return ((features - mean) / std).astype(\"float32\")",
                                 "return features.astype(\"float32\")")])  # fmt: skip

CASES: dict[str, dict] = {
    "cancer": {
        "reference_copy": {},
        "sklearn_scaler": dict([SKLEARN_SCALER]),
        "pandas_std": dict([PANDAS_STD]),
        "refit_on_each_split": dict([REFIT_ON_EACH_SPLIT]),
        # fit_scaler ignores the features it is given and fits on the whole dataset, loaded
        # again from scikit-learn: 569 rows, the test split included.
        "fit_on_all_data": {
            "preprocessing": [
                ("import numpy as np\n",
                 "import numpy as np\nfrom sklearn.datasets import load_breast_cancer\n"),
                ("return features.mean(axis=0), features.std(axis=0)",
                 "everything = load_breast_cancer().data\n"
                 "    return everything.mean(axis=0), everything.std(axis=0)"),
            ],
        },  # fmt: skip
        # Binary classification written as two classes: softmax over 2 units, sparse labels.
        "softmax_two_units": {
            "models": [
                ('layers.Dense(1, activation="sigmoid")', 'layers.Dense(2, activation="softmax")'),
                ('loss="binary_crossentropy"', 'loss="sparse_categorical_crossentropy"'),
            ],
        },  # fmt: skip
        "no_sigmoid": {"models": [('layers.Dense(1, activation="sigmoid")', "layers.Dense(1)")]},
        "categorical_loss": {
            "models": [('loss="binary_crossentropy"', 'loss="categorical_crossentropy"')],
        },
        "one_file": {"__single_file__": True},
    },
    "diabetes": {
        "reference_copy": {},
        "sklearn_scaler": dict([SKLEARN_SCALER]),
        "relu_output": {"models": [("layers.Dense(1),", 'layers.Dense(1, activation="relu"),')]},
        "sigmoid_output": {
            "models": [("layers.Dense(1),", 'layers.Dense(1, activation="sigmoid"),')],
        },
        "mae_loss": {"models": [('loss="mse"', 'loss="mae"')]},
        "no_mae_metric": {"models": [(', metrics=["mae"]', "")]},
        "no_scaling": dict([NO_SCALING]),
        "refit_on_each_split": dict([REFIT_ON_EACH_SPLIT]),
    },
}
"""lab -> case -> {module: [(old, new), ...]} edits of the reference solution."""

_MARKER = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION\n", re.MULTILINE)


def source(lab: str, module: str) -> str:
    """The reference's module as a student would write it (no solution markers)."""
    return _MARKER.sub("", (REFERENCE / lab / f"{module}.py").read_text())


def materialize(lab: str, case: str, dest: Path) -> Path:
    """Write the case under `dest` (a folder of modules, or one .py); returns its path."""
    edits = CASES[lab][case]
    texts = {module: source(lab, module) for module in MODULES}
    for module, changes in edits.items():
        if module.startswith("__"):
            continue
        for old, new in changes:
            if old not in texts[module]:
                raise AssertionError(f"{lab}/{case}: {old!r} is not in {module}.py any more")
            texts[module] = texts[module].replace(old, new, 1)
    if edits.get("__single_file__"):
        path = dest / f"{case}.py"
        path.write_text("\n\n".join(texts[m] for m in MODULES))
        return path
    folder = dest / case
    folder.mkdir(parents=True)
    for module, text in texts.items():
        (folder / f"{module}.py").write_text(text)
    return folder
