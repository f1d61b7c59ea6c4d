"""The trusted side's reader of what the sandbox wrote. Everything here is untrusted input.

Files are opened with `O_NOFOLLOW`, must be regular files inside the job's output directory
and under a size cap; arrays load with `allow_pickle=False`; JSON is shape-checked. A model
is rebuilt from its `get_config()` JSON only when every class in it is a built-in Keras layer,
initializer, regularizer, constraint or dtype policy on an allowlist (no `Lambda`, no custom
objects, no unknown keys), then `set_weights`. Nothing a student produced ever reaches
`keras.saving.load_model` or `model_from_json`.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from functools import cached_property
from pathlib import Path

import numpy as np

MAX_JSON_BYTES = 8 << 20
MAX_ARRAY_BYTES = 512 << 20
CALL_STATUSES = {"ok", "not_implemented", "error", "running", "skipped"}

ALLOWED_LAYERS = frozenset(
    {
        "InputLayer", "Dense", "Activation", "Conv2D", "Conv1D", "MaxPooling2D",
        "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten",
        "Dropout", "SpatialDropout2D", "BatchNormalization", "LayerNormalization", "Reshape",
        "ReLU", "LeakyReLU", "Softmax", "ELU", "ZeroPadding2D", "Rescaling", "Permute",
        "Identity", "Add", "Concatenate", "Multiply", "Subtract", "Average", "Maximum",
        "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
        "SpatialDropout1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D",
        "GlobalMaxPooling1D", "SeparableConv2D", "DepthwiseConv2D", "UpSampling2D",
        "Cropping2D", "PReLU",
    }
)  # fmt: skip
"""Built-in layers a submission's model may use and still be rebuilt for grading."""
ALLOWED_MODELS = frozenset({"Sequential", "Functional", "Model"})
ALLOWED_OBJECTS = frozenset(
    {
        "DTypePolicy", "FloatDTypePolicy",
        "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
        "LecunNormal", "RandomUniform", "RandomNormal", "TruncatedNormal", "Zeros", "Ones",
        "Constant", "Orthogonal", "VarianceScaling", "IdentityInitializer",
        "L1", "L2", "L1L2", "OrthogonalRegularizer",
        "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm",
    }
)  # fmt: skip
ALLOWED_MODULES = frozenset(
    {
        "keras", "keras.layers", "keras.initializers", "keras.regularizers",
        "keras.constraints", "keras.models", "keras.src.models.functional",
        "keras.src.models.sequential", "keras.src.models.model",
    }
)  # fmt: skip
ALLOWED_ACTIVATIONS = frozenset(
    {
        "linear", "relu", "relu6", "softmax", "log_softmax", "sigmoid", "hard_sigmoid",
        "tanh", "elu", "selu", "softplus", "softsign", "swish", "silu", "gelu", "mish",
        "exponential", "leaky_relu", "hard_silu", "hard_swish",
    }
)  # fmt: skip
ENTRY_KEYS = frozenset(
    {"module", "class_name", "config", "registered_name", "build_config", "name", "inbound_nodes"}
)


FUNCTION_ACTIVATIONS = {
    "softmax_v2": "softmax", "softmax": "softmax", "log_softmax_v2": "log_softmax",
    "log_softmax": "log_softmax", "swish": "swish", "silu": "silu", "relu": "relu",
    "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "elu": "elu", "selu": "selu",
    "softplus": "softplus", "softsign": "softsign", "leaky_relu": "leaky_relu",
    "hard_sigmoid": "hard_sigmoid", "exponential": "exponential", "linear": "linear",
    "mish": "mish", "hard_silu": "hard_silu", "hard_swish": "hard_swish",
}  # fmt: skip
"""Activation functions Keras serialises as `{"class_name": "function", "config": NAME}` (for
example `tf.nn.softmax`, whose name is `softmax_v2`), mapped to the built-in activation that
computes the same. A fixed table: nothing named in a submission's config is imported."""


class ArtifactError(Exception):
    """An artifact is missing, malformed or refused; the message says which and why."""


def _open_inside(out_dir: Path, rel: str, cap: int) -> bytes:
    """Read `out_dir/rel`: a regular file, not through a symlink, not outside, at most `cap`."""
    if not isinstance(rel, str) or "\0" in rel or rel.startswith("/") or ".." in Path(rel).parts:
        raise ArtifactError(f"artifact path {rel!r} is not a plain relative path")
    base = os.path.realpath(out_dir)
    path = os.path.join(base, rel)
    if os.path.realpath(os.path.dirname(path)) != os.path.dirname(os.path.normpath(path)):
        raise ArtifactError(f"artifact {rel} lies behind a symbolic link")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ArtifactError(f"artifact {rel} is missing") from None
    except OSError as exc:
        raise ArtifactError(f"artifact {rel} cannot be opened safely: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(f"artifact {rel} is not a regular file")
        if info.st_size > cap:
            raise ArtifactError(f"artifact {rel} is larger than {cap >> 20} MiB")
        data = f.read(cap + 1)
    if len(data) > cap:
        raise ArtifactError(f"artifact {rel} is larger than {cap >> 20} MiB")
    return data


def read_json(out_dir: Path, rel: str) -> object:
    try:
        return json.loads(_open_inside(out_dir, rel, MAX_JSON_BYTES))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ArtifactError(f"artifact {rel} is not valid JSON: {exc}") from None


def read_manifest(out_dir: Path) -> dict:
    """The runner's manifest, shape-checked; raises ArtifactError when unusable."""
    manifest = read_json(out_dir, "manifest.json")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("calls"), dict):
        raise ArtifactError("manifest.json is not a runner manifest")
    for name, call in manifest["calls"].items():
        if not isinstance(call, dict) or call.get("status") not in CALL_STATUSES:
            raise ArtifactError(f"manifest.json: call {name!r} has no valid status")
    for key in ("models", "fallbacks", "versions"):
        if not isinstance(manifest.get(key, {}), dict):
            raise ArtifactError(f"manifest.json: {key} is not an object")
    return manifest


def read_arrays(out_dir: Path, rel: str, cap: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """An `.npz` of plain numeric arrays (never pickles), at most `cap` bytes inflated."""
    data = _open_inside(out_dir, rel, cap)
    try:
        # The cap holds for what the members inflate to (zipfile stops at the declared sizes).
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            inflated = sum(info.file_size for info in zf.infolist())
        if inflated > cap:
            raise ArtifactError(f"artifact {rel} inflates to more than {cap >> 20} MiB")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - a forged file may break zipfile/zlib/numpy anyhow
        raise ArtifactError(f"artifact {rel} is not a plain .npz of arrays: {exc}") from None
    for key, arr in arrays.items():
        if arr.dtype.kind not in "biuf":
            raise ArtifactError(f"artifact {rel}: array {key!r} has dtype {arr.dtype}")
    return arrays


def normalize_activations(config: object) -> object:
    """A copy of a model config with TensorFlow's and Keras's activation functions written as
    the built-in names they compute (`FUNCTION_ACTIVATIONS`), and without the compile settings
    of models nested in it (`Sequential([model, Softmax()])`); anything else is left as it
    is, for `check_model_config` to accept or refuse."""
    if isinstance(config, list):
        return [normalize_activations(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {}
    for key, value in config.items():
        if key == "compile_config" and config.get("class_name") in ALLOWED_MODELS:
            continue  # a nested model's own compile settings: nothing the rebuild needs
        if key == "activation" and isinstance(value, dict):
            name = value.get("config")
            if (
                value.get("class_name") == "function"
                and value.get("module") in ("builtins", None)
                and isinstance(name, str)
                and name in FUNCTION_ACTIVATIONS
            ):
                out[key] = FUNCTION_ACTIVATIONS[name]
                continue
        out[key] = normalize_activations(value)
    return out


def check_model_config(config: object, where: str = "model") -> None:
    """Refuse any model config that holds something other than allowlisted built-ins.

    Raises:
        ArtifactError: naming the first offending class, key or activation.
    """
    if not isinstance(config, dict):
        raise ArtifactError(f"{where}: not a Keras config object")
    class_name = config.get("class_name")
    if class_name not in ALLOWED_MODELS:
        raise ArtifactError(f"{where}: the model is a {class_name!r}, not a Sequential/functional")
    try:
        _check_entry(config, where, top=True)
    except RecursionError:
        raise ArtifactError(f"{where}: the config is nested too deeply") from None


def _check_entry(entry: dict, where: str, top: bool = False) -> None:
    unknown = set(entry) - ENTRY_KEYS - ({"compile_config"} if top else set())
    if unknown:
        raise ArtifactError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    class_name = entry.get("class_name")
    module = entry.get("module")
    registered = entry.get("registered_name")
    if module is not None and module not in ALLOWED_MODULES:
        raise ArtifactError(f"{where}: {class_name} comes from module {module!r}, not Keras")
    if registered not in (None, class_name):
        raise ArtifactError(f"{where}: {registered!r} is a custom (registered) object")
    config = entry.get("config", {})
    if not isinstance(config, dict):
        raise ArtifactError(f"{where}: config of {class_name} is not an object")
    if class_name in ALLOWED_MODELS:
        for i, layer in enumerate(config.get("layers", [])):
            if not isinstance(layer, dict):
                raise ArtifactError(f"{where}: layer {i} is not an object")
            name = layer.get("class_name")
            if name not in ALLOWED_LAYERS and name not in ALLOWED_MODELS:
                raise ArtifactError(
                    f"layer {i + 1} is a {name!r}, which the grader cannot rebuild safely"
                )
            _check_entry(layer, f"{where}.layers[{i}] ({name})")
        return
    for key, value in config.items():
        _check_value(value, f"{where}.{key}", key)


def _check_value(value: object, where: str, key: str) -> None:
    if key == "activation" and value is not None:
        if not isinstance(value, str) or value not in ALLOWED_ACTIVATIONS:
            name = value.get("config") if isinstance(value, dict) else value
            name = name if isinstance(name, str) else repr(value)[:80]
            raise ArtifactError(
                f"{where}: activation {name!r} is not a built-in activation the grader can "
                "rebuild; write it by name, e.g. activation='relu' or activation='softmax'"
            )
        return
    if isinstance(value, dict):
        if "class_name" in value:
            name = value.get("class_name")
            if name not in ALLOWED_OBJECTS:
                raise ArtifactError(f"{where}: {name!r} is not an allowed built-in object")
            _check_entry(value, where)
        else:
            for k, v in value.items():
                _check_value(v, f"{where}.{k}", str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]", key)
    elif not (value is None or isinstance(value, str | int | float | bool)):
        raise ArtifactError(f"{where}: unexpected value of type {type(value).__name__}")


MODEL_BUDGETS: dict = {}
"""kind -> grader.check.model_budget.Budget: set by the check session from the reference's models,
so that no submitted config costs more than a multiple of them to rebuild and run."""


def rebuild_model(out_dir: Path, facts: object, budget=None):
    """Rebuild a model from a `{config, weights}` pair of artifacts, after the allowlist check
    and, given a `budget`, after its estimated cost (from the config alone) is within it."""
    import keras

    from grader.check.model_budget import TooCostly, estimate

    if not isinstance(facts, dict) or "config" not in facts or "weights" not in facts:
        reason = facts.get("error") if isinstance(facts, dict) else None
        raise ArtifactError(f"no saved model{': ' + str(reason) if reason else ''}")
    try:
        config = normalize_activations(read_json(out_dir, facts["config"]))
    except RecursionError:
        raise ArtifactError("model: the config is nested too deeply") from None
    check_model_config(config)
    cap = MAX_ARRAY_BYTES
    if budget is not None:
        try:
            cost = estimate(config)
            budget.check(cost, "your model")
        except (TooCostly, RecursionError) as exc:
            raise ArtifactError(str(exc)) from None
        cap = min(cap, 8 * budget.max_params + (1 << 20))
    weights = read_arrays(out_dir, facts["weights"], cap)
    try:
        with keras.saving.custom_object_scope({}):
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - malformed but allowlisted configs
        raise ArtifactError(
            f"the model could not be rebuilt: {type(exc).__name__}: {exc}"
        ) from None
    ordered = [weights[k] for k in sorted(weights)]
    if not model.built and ordered:
        raise ArtifactError("the model was never built (no input shape): use keras.Input(...)")
    try:
        model.set_weights(ordered)
    except Exception as exc:  # noqa: BLE001
        raise ArtifactError(f"the saved weights do not fit the model: {exc}") from None
    return model


class Artifacts:
    """One run's artifacts, read lazily and defensively.

    Args:
        out_dir: the job's `out/` directory.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self._models: dict[tuple[str, str], object] = {}

    @cached_property
    def manifest(self) -> dict:
        return read_manifest(self.out_dir)

    def call(self, name: str) -> dict:
        """The manifest's record of one call ({} when the run never reached it)."""
        try:
            return self.manifest["calls"].get(name, {})
        except ArtifactError:
            return {}

    def result(self, name: str) -> dict:
        """What a call returned (type, dtype, shape, range, file), as the runner described it."""
        result = self.call(name).get("result")
        return result if isinstance(result, dict) else {}

    def array(self, name: str) -> np.ndarray:
        """The array a call returned (sampled rows for training-set outputs)."""
        rel = self.result(name).get("file")
        if not rel:
            raise ArtifactError(f"{name.split(':')[0]}() returned nothing the grader could save")
        return read_arrays(self.out_dir, rel)["value"]

    def arrays(self, rel: str) -> dict[str, np.ndarray]:
        return read_arrays(self.out_dir, rel)

    def model_facts(self, kind: str) -> dict:
        try:
            facts = self.manifest["models"].get(kind, {})
        except ArtifactError:
            return {}
        return facts if isinstance(facts, dict) else {}

    def model(self, kind: str, which: str = "untrained"):
        """The student's model `kind` (a name of the plan) rebuilt at stage `which`; cached."""
        key = (kind, which)
        if key not in self._models:
            try:
                self._models[key] = rebuild_model(
                    self.out_dir, self.model_facts(kind).get(which), MODEL_BUDGETS.get(kind)
                )
            except ArtifactError as exc:
                self._models[key] = exc
        value = self._models[key]
        if isinstance(value, ArtifactError):
            raise value
        return value

    def release(self) -> None:
        """Drop the rebuilt models (memory for the next submission)."""
        self._models.clear()

    def fallbacks(self, step: str) -> list[str]:
        try:
            value = self.manifest["fallbacks"].get(step, [])
        except ArtifactError:
            return []
        return [str(v) for v in value] if isinstance(value, list) else []
