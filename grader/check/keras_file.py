"""Facts read on the trusted side from Keras's own model files that the sandbox wrote: the
compile settings, the optimizer's step count (`iterations`) and the saved weights.

Two formats, told apart by their first bytes, never by the file name:
- the `.keras` zip (`PK\\x03\\x04`): `config.json` with its `compile_config`, and
  `model.weights.h5` holding the layers' arrays and the optimizer's state;
- the legacy HDF5 file (`\\x89HDF\\r\\n\\x1a\\n`) that `model.save("x.h5")` writes: root
  attributes `model_config` and `training_config` (JSON: the compile settings, with the
  optimizer as `optimizer_config`), the layers' arrays under `model_weights/` and the
  optimizer's state under `optimizer_weights/`.

The runner shares its interpreter with student code, so nothing it reports in memory is
taken on trust for points: a fact that earns points comes from one of these files, parsed
here with size caps (JSON with `json`, arrays with h5py reading plain datasets only, never
through a link, external storage or a virtual dataset; nothing is deserialised into Keras
objects), and cross-checked against the trained weights that the accuracy checks use. What
remains possible is deliberate forgery of consistent Keras files, which costs more than doing
the work and can never earn the accuracy points (the held-out labels never enter the
sandbox). See docs/threat-model.md.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.check.artifacts import ArtifactError, _open_inside

MAX_KERAS_FILE = 256 << 20
MAX_CONFIG = 8 << 20
MAX_DATASETS = 10_000
MAX_DATASET_ITEMS = 64 << 20
MAX_ARRAY_BYTES = 1 << 30
"""All arrays of one file together, decompressed."""

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
WRAPPERS = {"LossScaleOptimizer": "inner_optimizer"}
"""Optimizers that wrap another (mixed precision): the inner one counts the steps."""


def file_format(data: bytes) -> str | None:
    """`keras` (a zip), `h5` (HDF5: its superblock at byte 0, 512, 1024, 2048, ...) or None."""
    if data.startswith(ZIP_MAGIC):
        return "keras"
    offset = 0
    while offset + len(HDF5_MAGIC) <= len(data):
        if data[offset : offset + len(HDF5_MAGIC)] == HDF5_MAGIC:
            return "h5"
        offset = 512 if offset == 0 else offset * 2
    return None


@dataclass(frozen=True)
class KerasFile:
    """One model file. `config` is the model's config with its `compile_config` (for an
    HDF5 file: `model_config` with `training_config` rendered as Keras's compile config);
    `weights` the bytes of the HDF5 part (`model.weights.h5`, or the whole `.h5` file)."""

    config: dict
    weights: bytes
    format: str = "keras"

    @property
    def compile_config(self) -> dict | None:
        value = self.config.get("compile_config")
        return value if isinstance(value, dict) else None

    @property
    def suffix(self) -> str:
        """The suffix Keras gives this format: `.keras` or `.h5`."""
        return ".h5" if self.format == "h5" else ".keras"

    def _datasets(self) -> dict[str, np.ndarray]:
        return _plain_datasets(self.weights, "model.weights.h5" if self.format == "keras" else "")

    def iterations(self) -> int | None:
        """The compiled optimizer's step count (the inner one's under a mixed-precision
        wrapper), or None when the file holds no optimizer state."""
        data = self._datasets()
        if self.format == "h5":
            return _h5_iterations(data, (self.compile_config or {}).get("optimizer"))
        for key in ("optimizer/inner_optimizer/vars/0", "optimizer/vars/0"):
            if key in data and data[key].shape == ():
                return int(data[key])
        return None

    def layer_arrays(self) -> list[np.ndarray]:
        """Every saved array that is not optimizer state (layers are stored under their
        attribute names in a subclassed model, under `layers/` (`model_weights/` in an HDF5
        file) otherwise)."""
        data = self._datasets()
        if self.format == "h5":
            return [v for k, v in sorted(data.items()) if k.startswith("model_weights/")]
        return [v for k, v in sorted(data.items()) if not k.startswith("optimizer")]


def _plain_datasets(blob: bytes, what: str) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file held in memory, by path: numbers only, size-capped,
    reached through hard links only (h5py's visititems follows no soft or external link), and
    none stored outside the file (external raw data, virtual datasets)."""
    import h5py

    label = f"{what}: " if what else ""
    found: dict[str, np.ndarray] = {}
    total = 0
    try:
        with h5py.File(io.BytesIO(blob), "r") as f:

            def visit(name, obj):
                nonlocal total
                if not isinstance(obj, h5py.Dataset):
                    return
                if len(found) >= MAX_DATASETS:
                    raise ArtifactError(f"{label}more than {MAX_DATASETS} arrays")
                if obj.dtype.kind not in "biuf" or obj.size > MAX_DATASET_ITEMS:
                    raise ArtifactError(f"{label}{name} is not a plain array")
                if obj.external or obj.is_virtual:
                    raise ArtifactError(f"{label}{name} is stored outside the file")
                total += obj.size * obj.dtype.itemsize
                if total > MAX_ARRAY_BYTES:
                    raise ArtifactError(f"{label}the arrays are larger than the cap")
                found[name] = np.asarray(obj[()])

            f.visititems(visit)
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - a forged or broken HDF5 file
        where = what or "the HDF5 file"
        raise ArtifactError(f"{where} cannot be read: {exc}") from None
    return found


def _inner_optimizer_name(optimizer: object) -> str | None:
    """The `name` in the config of the optimizer that counts the steps (through wrappers)."""
    for _ in range(4):
        if not isinstance(optimizer, dict):
            return None
        config = optimizer.get("config")
        if not isinstance(config, dict):
            return None
        inner = WRAPPERS.get(str(optimizer.get("class_name")))
        if inner and isinstance(config.get(inner), dict):
            optimizer = config[inner]
            continue
        name = config.get("name")
        return name if isinstance(name, str) else None
    return None


def _h5_iterations(data: dict[str, np.ndarray], optimizer: object) -> int | None:
    """`optimizer_weights/<optimizer name>/iteration`: the step count of the optimizer that
    counts them (under a mixed-precision wrapper the wrapper's own stays 0)."""
    steps = {
        key: array
        for key, array in data.items()
        if key.startswith("optimizer_weights/")
        and key.rsplit("/", 1)[-1] == "iteration"
        and array.shape == ()
        and array.dtype.kind in "iu"
    }
    name = _inner_optimizer_name(optimizer)
    if name and f"optimizer_weights/{name}/iteration" in steps:
        return int(steps[f"optimizer_weights/{name}/iteration"])
    if len(steps) == 1:
        return int(next(iter(steps.values())))
    return None


def _h5_json_attr(f, key: str, rel: str) -> dict | None:
    """A root attribute holding JSON (str or bytes), size-capped; None when absent."""
    if key not in f.attrs:
        return None
    # A variable-length string's storage size is that of its pointer: its length is known
    # once read (within the file's own cap, MAX_KERAS_FILE), so check both.
    if f.attrs.get_id(key).get_storage_size() > MAX_CONFIG:
        raise ArtifactError(f"{rel}: {key} is larger than {MAX_CONFIG >> 20} MiB")
    value = f.attrs[key]
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "OSU":
        value = value[()]
    if not isinstance(value, str | bytes):
        raise ArtifactError(f"{rel}: {key} is not JSON text")
    if len(value) > MAX_CONFIG:
        raise ArtifactError(f"{rel}: {key} is larger than {MAX_CONFIG >> 20} MiB")
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise ArtifactError(f"{rel}: {key} is not an object")
    return parsed


def _compile_config_of(training: dict | None) -> dict | None:
    """An HDF5 file's `training_config` as Keras's compile config (the optimizer under
    `optimizer`, as `model.get_compile_config()` and a `.keras` file have it)."""
    if training is None:
        return None
    config = {k: v for k, v in training.items() if k != "optimizer_config"}
    optimizer = training.get("optimizer_config")
    if isinstance(optimizer, dict):
        config["optimizer"] = optimizer
    return config


def _read_h5(data: bytes, rel: str) -> KerasFile:
    import h5py

    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            model = _h5_json_attr(f, "model_config", rel)
            if model is None or "model_weights" not in f:
                raise ArtifactError(
                    f"{rel} is an HDF5 file but not a whole Keras model (no model_config or "
                    "model_weights: were only the weights saved?)"
                )
            training = _h5_json_attr(f, "training_config", rel)
            version = f.attrs.get("keras_version")
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py/json on a forged or truncated file
        raise ArtifactError(
            f"{rel} is not a readable HDF5 model file (truncated or damaged?): {str(exc)[:300]}"
        ) from None
    config = dict(model)
    config["compile_config"] = _compile_config_of(training)
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    if isinstance(version, str):
        config["keras_version"] = version[:64]
    return KerasFile(config, data, "h5")


def _read_zip(data: bytes, rel: str) -> KerasFile:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            if "config.json" not in infos or "model.weights.h5" not in infos:
                raise ArtifactError(f"{rel} is not a Keras model file (no config or weights)")
            if infos["config.json"].file_size > MAX_CONFIG:
                raise ArtifactError(f"{rel}: config.json is larger than {MAX_CONFIG >> 20} MiB")
            if infos["model.weights.h5"].file_size > MAX_KERAS_FILE:
                raise ArtifactError(f"{rel}: the weights are larger than the cap")
            config = json.loads(zf.read("config.json"))
            weights = zf.read("model.weights.h5")
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile/zlib/json on a forged file
        raise ArtifactError(f"{rel} is not a readable Keras model file: {exc}") from None
    if not isinstance(config, dict):
        raise ArtifactError(f"{rel}: config.json is not an object")
    return KerasFile(config, weights, "keras")


def read_keras_file(out_dir: Path, rel: str) -> KerasFile:
    """A Keras model file written in the sandbox, read defensively: a `.keras` zip or a
    legacy `.h5` file, whatever its name says (`KerasFile.format` tells which)."""
    data = _open_inside(out_dir, rel, MAX_KERAS_FILE)
    kind = file_format(data)
    if kind == "keras":
        return _read_zip(data, rel)
    if kind == "h5":
        return _read_h5(data, rel)
    start = data[:8]
    raise ArtifactError(
        f"{rel} is not a Keras model file: neither a .keras zip nor an HDF5 (.h5) file "
        f"({'it is empty' if not data else f'it starts with {start!r}'})"
    )


def same_weights(saved: list[np.ndarray], trained: list[np.ndarray], tolerance=1e-5) -> bool:
    """Does a saved file hold every trained weight array (in any order; a file may also hold
    state that is not a weight, such as a metric's counters)?"""
    left = list(saved)
    for array in trained:
        for i, candidate in enumerate(left):
            if candidate.shape == array.shape and np.allclose(
                candidate, array, atol=tolerance, rtol=1e-4
            ):
                del left[i]
                break
        else:
            return False
    return bool(trained)
