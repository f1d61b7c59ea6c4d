"""Facts read on the trusted side from Keras's own model files (`.keras` zips) that the
sandbox wrote: the compile settings (`config.json`'s `compile_config`), the optimizer's step
count (`iterations`, saved with its state in `model.weights.h5`) and the saved weights.

The runner shares its interpreter with student code, so nothing it reports in memory is
taken on trust for points: a fact that earns points comes from one of these files, parsed
here with size caps (JSON with `json`, the weights with h5py reading datasets only; nothing
is deserialised into Keras objects), and cross-checked against the trained weights that the
accuracy checks use. What remains possible is deliberate forgery of consistent Keras files,
which costs more than doing the work and can never earn the accuracy points (the held-out
labels never enter the sandbox). See docs/threat-model.md.
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


@dataclass(frozen=True)
class KerasFile:
    config: dict
    weights: bytes

    @property
    def compile_config(self) -> dict | None:
        value = self.config.get("compile_config")
        return value if isinstance(value, dict) else None

    def _datasets(self) -> dict[str, np.ndarray]:
        import h5py

        found: dict[str, np.ndarray] = {}
        try:
            with h5py.File(io.BytesIO(self.weights), "r") as f:

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset) and len(found) < 10_000:
                        if obj.dtype.kind not in "biuf" or obj.size > (64 << 20):
                            raise ArtifactError(f"model.weights.h5: {name} is not a plain array")
                        found[name] = np.asarray(obj[()])

                f.visititems(visit)
        except ArtifactError:
            raise
        except Exception as exc:  # noqa: BLE001 - a forged or broken HDF5 file
            raise ArtifactError(f"model.weights.h5 cannot be read: {exc}") from None
        return found

    def iterations(self) -> int | None:
        """The compiled optimizer's step count (the inner one's under a mixed-precision
        wrapper), or None when the file holds no optimizer state."""
        data = self._datasets()
        for key in ("optimizer/inner_optimizer/vars/0", "optimizer/vars/0"):
            if key in data and data[key].shape == ():
                return int(data[key])
        return None

    def layer_arrays(self) -> list[np.ndarray]:
        """Every saved array that is not optimizer state (layers are stored under their
        attribute names in a subclassed model, under `layers/` otherwise)."""
        return [v for k, v in sorted(self._datasets().items()) if not k.startswith("optimizer")]


def read_keras_file(out_dir: Path, rel: str) -> KerasFile:
    """A `.keras` zip written in the sandbox, read defensively."""
    data = _open_inside(out_dir, rel, MAX_KERAS_FILE)
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
    return KerasFile(config, weights)


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
