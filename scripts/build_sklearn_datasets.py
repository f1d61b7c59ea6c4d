"""Rebuild the bundled data of the cancer and diabetes labs from scikit-learn's own copies.

Sources: files inside the installed scikit-learn package (nothing is downloaded).
- `sklearn/datasets/data/breast_cancer.csv`, read with `sklearn.datasets.load_breast_cancer()`:
  a header `569,30,malignant,benign`, then 569 rows of 30 features and the target, where
  0 = malignant and 1 = benign (the header's names in target order).
- `sklearn/datasets/data/diabetes_data_raw.csv.gz` (442 rows of 10 space-separated RAW features)
  and `sklearn/datasets/data/diabetes_target.csv.gz` (442 targets), read with
  `sklearn.datasets.load_diabetes(scaled=False)`. (The default, `scaled=True`, mean-centres
  every column and divides it by its standard deviation times sqrt(442): not wanted here.)

Every source file must match both the sha256 the installed wheel records for it (its RECORD) and
the sha256 pinned below (the file converted when the bundled copies were built); what
scikit-learn's loaders return is checked against a direct NumPy parse of the same files.

Outputs, rows in the sources' order:
- `reference/cancer/data/breast_cancer.npz`: `x` (569, 30) float32 and `y` (569,) uint8 with
  1 = malignant, 0 = benign: scikit-learn's target FLIPPED, so that the positive class is the
  malignant one.
- `reference/diabetes/data/diabetes.npz`: `x` (442, 10) float32 raw features (age, sex, bmi, bp,
  s1..s6) and `y` (442,) float32, disease progression one year after baseline (25..346).
Each with a `README.md` beside it (contents, feature names, provenance, licence, sha256). The
float32 conversion is checked to keep every value of the sources: the shortest decimal of each
float32 gives back the source's float64 exactly (the largest differences are printed).

The bytes are reproducible: the zips are written with a fixed date and fixed attributes (the
same writer as `scripts/build_mnist_subset.py`). The same source files give the same sha256
(given the same zlib; the versions are recorded). scikit-learn is needed only to run this script:
the grader never imports it.

Usage (from the repository root, in an environment with scikit-learn):
    python scripts/build_sklearn_datasets.py               # writes under reference/
    python scripts/build_sklearn_datasets.py --root DIR    # writes DIR/reference/... instead
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import importlib.metadata
import importlib.resources
import io
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""The earliest date a zip can hold: a fixed stamp instead of 'now', so the bytes reproduce."""

DATA_PACKAGE = "sklearn.datasets.data"
CANCER_FILE = "breast_cancer.csv"
DIABETES_X_FILE = "diabetes_data_raw.csv.gz"
DIABETES_Y_FILE = "diabetes_target.csv.gz"
SOURCE_SHA256 = {
    CANCER_FILE: "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed",
    DIABETES_X_FILE: "7fc0ded571454b1982210d3bb43f0aca44eae01a0b8654a3b24022bdb6b38009",
    DIABETES_Y_FILE: "8e53f65eb811df43c206f3534bb3af0e5fed213bc37ed6ba36310157d6023803",
}
"""sha256 of each source file as scikit-learn 1.9.1 ships it, when the bundled files were built."""

CANCER_OUT = "reference/cancer/data/breast_cancer.npz"
DIABETES_OUT = "reference/diabetes/data/diabetes.npz"

CANCER_SHAPE, N_MALIGNANT, N_BENIGN = (569, 30), 212, 357
CANCER_MEASURES = [
    ("radius", "mean of distances from center to points on the perimeter"),
    ("texture", "standard deviation of gray-scale values"),
    ("perimeter", ""),
    ("area", ""),
    ("smoothness", "local variation in radius lengths"),
    ("compactness", "perimeter^2 / area - 1.0"),
    ("concavity", "severity of concave portions of the contour"),
    ("concave points", "number of concave portions of the contour"),
    ("symmetry", ""),
    ("fractal dimension", '"coastline approximation" - 1'),
]
"""The ten measurements of the cell nuclei (as scikit-learn's `descr/breast_cancer.rst` says)."""
CANCER_FEATURES = (
    [f"mean {m}" for m, _ in CANCER_MEASURES]
    + [f"{m} error" for m, _ in CANCER_MEASURES]
    + [f"worst {m}" for m, _ in CANCER_MEASURES]
)
"""scikit-learn's `feature_names`, in column order (checked against the loader's)."""

DIABETES_SHAPE, DIABETES_Y_RANGE = (442, 10), (25.0, 346.0)
DIABETES_FEATURES = [
    ("age", "age in years"),
    ("sex", "(no description; coded 1 or 2 in the file)"),
    ("bmi", "body mass index"),
    ("bp", "average blood pressure"),
    ("s1", "tc, total serum cholesterol"),
    ("s2", "ldl, low-density lipoproteins"),
    ("s3", "hdl, high-density lipoproteins"),
    ("s4", "tch, total cholesterol / HDL"),
    ("s5", "ltg, possibly log of serum triglycerides level"),
    ("s6", "glu, blood sugar level"),
]
"""scikit-learn's `feature_names` with its descriptions (`descr/diabetes.rst`), in column order."""


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def read_source(name: str) -> bytes:
    """A data file of the installed scikit-learn, checked against its RECORD and the pinned hash."""
    data = (importlib.resources.files(DATA_PACKAGE) / name).read_bytes()
    member = f"{DATA_PACKAGE.replace('.', '/')}/{name}"
    record = importlib.metadata.distribution("scikit-learn").read_text("RECORD") or ""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    expected = next(
        (line.split(",")[1] for line in record.splitlines() if line.startswith(member + ",")), None
    )
    if expected != f"sha256={digest}":
        raise SystemExit(
            f"{member}: sha256 {digest} does not match scikit-learn's RECORD {expected}"
        )
    if sha256_bytes(data) != SOURCE_SHA256[name]:
        # Another file than the one converted: check what changed before pinning the new hash.
        raise SystemExit(f"{member}: sha256 {sha256_bytes(data)}, expected {SOURCE_SHA256[name]}")
    return data


def to_float32(x: np.ndarray, what: str) -> tuple[np.ndarray, float, float]:
    """`x` as float32, refusing any value whose source decimal the float32 cannot give back.

    Returns the array and the largest absolute and relative differences to the float64 values.
    """
    x32 = x.astype(np.float32)
    back = np.array([float(np.format_float_positional(v, trim="-")) for v in x32.ravel()])
    if not np.array_equal(back.reshape(x.shape), x):
        raise SystemExit(f"{what}: some values do not survive float32")
    diff = np.abs(x32.astype(np.float64) - x)
    rel = diff[x != 0] / np.abs(x[x != 0])
    return x32, float(diff.max()), float(rel.max(initial=0.0))


def build_cancer() -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """The breast-cancer arrays (label flipped: 1 = malignant) and the facts for its README."""
    from sklearn.datasets import load_breast_cancer

    raw = read_source(CANCER_FILE)
    bunch = load_breast_cancer()
    if list(bunch.target_names) != ["malignant", "benign"]:
        raise SystemExit(f"expected target_names malignant, benign: {list(bunch.target_names)}")
    if list(bunch.feature_names) != CANCER_FEATURES:
        raise SystemExit(f"unexpected feature names: {list(bunch.feature_names)}")
    # The same file parsed directly: a header line, then 30 features and the target per row.
    lines = raw.decode("utf-8").splitlines()
    if lines[0].split(",") != ["569", "30", "malignant", "benign"]:
        raise SystemExit(f"{CANCER_FILE}: unexpected header {lines[0]!r}")
    table = np.loadtxt(io.StringIO("\n".join(lines[1:])), delimiter=",", ndmin=2)
    if table.shape != (CANCER_SHAPE[0], CANCER_SHAPE[1] + 1):
        raise SystemExit(f"{CANCER_FILE}: expected 569 rows of 31 values, got {table.shape}")
    if not (
        np.array_equal(table[:, :-1], bunch.data) and np.array_equal(table[:, -1], bunch.target)
    ):
        raise SystemExit("load_breast_cancer() differs from the file it reads")
    if not np.isin(bunch.target, (0, 1)).all():
        raise SystemExit(f"targets other than 0 and 1: {np.unique(bunch.target)}")
    x, max_abs, max_rel = to_float32(bunch.data, "breast cancer x")
    y = (bunch.target == 0).astype(np.uint8)  # scikit-learn: 0 = malignant; here: 1 = malignant
    counts = np.bincount(y, minlength=2)
    if x.shape != CANCER_SHAPE or counts.tolist() != [N_BENIGN, N_MALIGNANT]:
        raise SystemExit(f"expected {CANCER_SHAPE} and 212 malignant / 357 benign: {counts}")
    facts = {"sources": [CANCER_FILE], "max_abs": max_abs, "max_rel": max_rel}
    return {"x": x, "y": y}, facts


def build_diabetes() -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """The raw diabetes arrays and the facts for its README."""
    from sklearn.datasets import load_diabetes

    raw_x, raw_y = read_source(DIABETES_X_FILE), read_source(DIABETES_Y_FILE)
    bunch = load_diabetes(scaled=False)
    if list(bunch.feature_names) != [name for name, _ in DIABETES_FEATURES]:
        raise SystemExit(f"unexpected feature names: {list(bunch.feature_names)}")
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw_x)), ndmin=2)
    target = np.loadtxt(io.BytesIO(gzip.decompress(raw_y)))
    if table.shape != DIABETES_SHAPE or target.shape != DIABETES_SHAPE[:1]:
        raise SystemExit(f"expected (442, 10) and (442,): {table.shape}, {target.shape}")
    if not (np.array_equal(table, bunch.data) and np.array_equal(target, bunch.target)):
        raise SystemExit("load_diabetes(scaled=False) differs from the files it reads")
    if not np.isin(table[:, 1], (1, 2)).all():
        raise SystemExit(f"sex is not coded 1/2: {np.unique(table[:, 1])}")
    if (target.min(), target.max()) != DIABETES_Y_RANGE or (target != np.round(target)).any():
        raise SystemExit(f"expected integer targets 25..346: {target.min()}..{target.max()}")
    x, max_abs, max_rel = to_float32(bunch.data, "diabetes x")
    y, y_abs, y_rel = to_float32(bunch.target, "diabetes y")
    facts = {
        "sources": [DIABETES_X_FILE, DIABETES_Y_FILE],
        "max_abs": max(max_abs, y_abs),
        "max_rel": max(max_rel, y_rel),
    }
    return {"x": x, "y": y}, facts


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A reproducible compressed `.npz`: what np.savez_compressed writes, minus the timestamps."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for key, array in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(
                npy, np.ascontiguousarray(array), version=(1, 0), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # "Unix", whatever machine builds it
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue(), compresslevel=9)
    return out.getvalue()


def short(value: np.floating) -> str:
    """The shortest decimal that gives back a float32 (e.g. `28.11`, not 28.110000610351562)."""
    return np.format_float_positional(value, trim="-")


def source_lines(facts: dict[str, object], loader: str, sklearn_version: str) -> str:
    """The README's bullet on the scikit-learn copy that was converted."""
    files = [
        f"  - `sklearn/datasets/data/{name}`, sha256\n    `{SOURCE_SHA256[name]}`"
        for name in facts["sources"]
    ]
    return "\n".join(
        [
            f"- Converted copy: scikit-learn {sklearn_version}"
            f" (PyPI `scikit-learn=={sklearn_version}`),",
            f"  read with `{loader}`:",
            *files,
            "  Each file matched the sha256 recorded in scikit-learn's wheel (its RECORD), and",
            "  what the loader returned matched a direct parse of the file.",
        ]
    )


def conversion_lines(facts: dict[str, object]) -> str:
    """The README's lines on what float32 keeps."""
    return (
        "  Every value of the source survives float32: the shortest decimal of each float32 gives\n"
        "  back the source's value exactly (largest difference between the float32 and the\n"
        f"  float64 values: {facts['max_abs']:.3g} absolute, {facts['max_rel']:.3g} relative)."
    )


CANCER_README = """\
# Bundled data of the breast-cancer lab: `breast_cancer.npz`

569 breast masses, each described by 30 real-valued features computed from a digitised image of a
fine needle aspirate (FNA) of the mass, and diagnosed malignant or benign: the Breast Cancer
Wisconsin (Diagnostic) dataset, as scikit-learn ships it. Shipped for the breast-cancer lab, so
that it runs offline.

## Contents
- `x`: (569, 30) float32, the 30 features below in this column order; no missing values.
- `y`: (569,) uint8, **1 = malignant, 0 = benign**: {n_malignant} malignant, {n_benign} benign.
  **This is the opposite of scikit-learn's coding**: `load_breast_cancer()` gives 0 = malignant,
  1 = benign (`target_names = ['malignant', 'benign']`). The label is flipped here so that the
  positive class (1) is the malignant one, as a clinician reads "positive"; code written against
  scikit-learn's target must use `1 - y`.
- Rows are in the source's order (not shuffled, not sorted by class). The file holds only these
  two arrays (no pickled objects): the feature names are listed here, not in the file.
- sha256 of the file: `{out_sha}`.

## Features
For each image, ten measurements of the cell nuclei were computed, and for each measurement its
mean (columns 0-9), its standard error (columns 10-19, "error" in scikit-learn's names) and its
"worst" value, the mean of the three largest values (columns 20-29). Names are scikit-learn's
`feature_names`; min and max are those of this file.

| column | name | min | max |
|---:|---|---:|---:|
{feature_rows}

The measurements (from scikit-learn's description of the dataset):
{measure_rows}

## Provenance
- Original: UCI Machine Learning Repository, "Breast Cancer Wisconsin (Diagnostic)", by
  W. H. Wolberg, W. N. Street and O. L. Mangasarian, 1995 (donor: Nick Street),
  https://doi.org/10.24432/C5DW2B
  (https://archive.ics.uci.edu/dataset/17/breast+cancer+wisconsin+diagnostic).
  The UCI file also has an ID number per sample and the diagnosis as M/B; scikit-learn's copy has
  neither (a numeric target instead of the letter, no IDs).
{source}
- Conversion: `scripts/build_sklearn_datasets.py`. Features cast from float64 to float32; label
  flipped (`y = 1 - target`) and stored as uint8.
{conversion}
  The `.npz` is written with fixed zip dates so that the same input gives the same bytes (built
  with numpy {numpy_version}, zlib {zlib_version}, deflate level 9).
- Rebuild (from the repository root, with scikit-learn installed; this file was built with
  scikit-learn {sklearn_version}; it rewrites this README too):

      python scripts/build_sklearn_datasets.py

## Licence
- The UCI Machine Learning Repository licenses this dataset under the Creative Commons
  Attribution 4.0 International licence (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/):
  sharing and adaptation for any purpose, with appropriate credit and an indication of changes.
  Credit: W. H. Wolberg, W. N. Street, O. L. Mangasarian, "Breast Cancer Wisconsin (Diagnostic)",
  UCI Machine Learning Repository, 1995, https://doi.org/10.24432/C5DW2B.
- scikit-learn is distributed under the BSD 3-Clause licence (its wheel's `License-Expression`
  and `COPYING`). Neither `COPYING` nor scikit-learn's description of the dataset
  (`sklearn/datasets/descr/breast_cancer.rst`, which calls it "a copy of UCI ML Breast Cancer
  Wisconsin (Diagnostic) datasets") states a licence for the data itself, so the data's licence
  is taken to be the UCI one.
- This file is shared under CC BY 4.0 with the credit above. Changes from the original: the
  sample IDs dropped and the diagnosis coded as a number (both by scikit-learn), values stored
  as float32, and the label coded 1 = malignant, 0 = benign (here).
- Not confirmed at the source: the UCI dataset page could not be opened when this file was
  built (no internet); CC BY 4.0 is the licence UCI states for the datasets it hosts, as quoted
  from UCI's site in https://github.com/fairlearn/fairlearn/issues/1064.
"""


DIABETES_README = """\
# Bundled data of the diabetes lab: `diabetes.npz`

442 diabetes patients: ten baseline variables (age, sex, body mass index, average blood
pressure and six blood serum measurements) and the response, a quantitative measure of disease
progression one year after baseline. The diabetes data of Efron, Hastie, Johnstone and
Tibshirani's "Least Angle Regression", as scikit-learn ships it, with the RAW feature values.
Shipped for the diabetes lab, so that it runs offline.

## Contents
- `x`: (442, 10) float32, the RAW features below in this column order; no missing values.
  **Not scikit-learn's default**: `load_diabetes()` (`scaled=True`) mean-centres each column and
  divides it by its standard deviation times sqrt(442) (the note in scikit-learn's description
  says so); this file holds the values of the original table, from `load_diabetes(scaled=False)`.
- `y`: (442,) float32, disease progression one year after baseline: whole numbers {y_min} to
  {y_max} (mean {y_mean}), exact in float32.
- Rows are in the source's order. The file holds only these two arrays (no pickled objects):
  the feature names are listed here, not in the file.
- sha256 of the file: `{out_sha}`.

## Features
Names are scikit-learn's `feature_names`, descriptions from its description of the dataset (it
gives no units beyond these); min and max are those of this file.

| column | name | description | min | max |
|---:|---|---|---:|---:|
{feature_rows}

## Provenance
- Original: B. Efron, T. Hastie, I. Johnstone, R. Tibshirani, "Least Angle Regression", Annals
  of Statistics 32(2), 2004, pp. 407-499 (with discussion),
  https://doi.org/10.1214/009053604000000067; data from
  https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html (the source scikit-learn cites).
{source}
- Conversion: `scripts/build_sklearn_datasets.py`. Features and targets cast from float64 to
  float32.
{conversion}
  The `.npz` is written with fixed zip dates so that the same input gives the same bytes (built
  with numpy {numpy_version}, zlib {zlib_version}, deflate level 9).
- Rebuild (from the repository root, with scikit-learn installed; this file was built with
  scikit-learn {sklearn_version}; it rewrites this README too):

      python scripts/build_sklearn_datasets.py

## Licence
- No licence for this dataset could be confirmed. scikit-learn's description of it
  (`sklearn/datasets/descr/diabetes.rst`) gives the source URL and the paper but no licence,
  and the source page could not be opened when this file was built (no internet).
- scikit-learn redistributes the data inside its package, which is under the BSD 3-Clause
  licence (its wheel's `License-Expression` and `COPYING`); `COPYING` does not say whether it
  covers the data files.
- This copy is shipped, as scikit-learn ships it, for teaching, with the credit above. Changes
  from scikit-learn's files: values stored as float32 in an `.npz` (nothing else).
"""


def cancer_readme(arrays, facts, out_sha: str, sklearn_version: str) -> str:
    x, y = arrays["x"], arrays["y"]
    rows = [
        f"| {i} | {name} | {short(x[:, i].min())} | {short(x[:, i].max())} |"
        for i, name in enumerate(CANCER_FEATURES)
    ]
    measures = [f"- {m}" + (f": {d}" if d else "") for m, d in CANCER_MEASURES]
    return CANCER_README.format(
        n_malignant=int((y == 1).sum()),
        n_benign=int((y == 0).sum()),
        out_sha=out_sha,
        feature_rows="\n".join(rows),
        measure_rows="\n".join(measures),
        source=source_lines(facts, "sklearn.datasets.load_breast_cancer()", sklearn_version),
        conversion=conversion_lines(facts),
        numpy_version=np.__version__,
        zlib_version=zlib.ZLIB_VERSION,
        sklearn_version=sklearn_version,
    )


def diabetes_readme(arrays, facts, out_sha: str, sklearn_version: str) -> str:
    x, y = arrays["x"], arrays["y"]
    rows = [
        f"| {i} | {name} | {desc} | {short(x[:, i].min())} | {short(x[:, i].max())} |"
        for i, (name, desc) in enumerate(DIABETES_FEATURES)
    ]
    return DIABETES_README.format(
        y_min=short(y.min()),
        y_max=short(y.max()),
        y_mean=f"{y.astype(np.float64).mean():.1f}",
        out_sha=out_sha,
        feature_rows="\n".join(rows),
        source=source_lines(facts, "sklearn.datasets.load_diabetes(scaled=False)", sklearn_version),
        conversion=conversion_lines(facts),
        numpy_version=np.__version__,
        zlib_version=zlib.ZLIB_VERSION,
        sklearn_version=sklearn_version,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="write ROOT/reference/... (default: the repo)"
    )
    args = parser.parse_args(argv)
    sklearn_version = importlib.metadata.version("scikit-learn")

    for out, build, readme in (
        (CANCER_OUT, build_cancer, cancer_readme),
        (DIABETES_OUT, build_diabetes, diabetes_readme),
    ):
        arrays, facts = build()
        data = npz_bytes(arrays)
        path = args.root / out
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out_sha = sha256_bytes(data)
        text = readme(arrays, facts, out_sha, sklearn_version)
        (path.parent / "README.md").write_text(text, encoding="utf-8")
        shapes = ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in arrays.items())
        print(f"{path}: {len(data):,} bytes, sha256 {out_sha}")
        print(
            f"  {shapes}; float32 vs float64: max abs diff {facts['max_abs']:.3g}, "
            f"max rel diff {facts['max_rel']:.3g}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
