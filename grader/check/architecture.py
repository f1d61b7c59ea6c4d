"""Keras architectures as canonical layer sequences, and their layer-by-layer comparison.

Two models that compute the same thing should compare equal however they were written:
`Dense(512, activation="relu")` and `Dense(512)` followed by `Activation("relu")` (seed 003's
style), `Sequential` and functional models, nested `Sequential`s. So each model becomes a
sequence of canonical steps: a layer with its key settings, merged with the activation
that follows it, with its output shape and parameter count.
"""

from __future__ import annotations

import difflib

from grader.report.results import LayerInfo, LayerRow

_ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax", "ELU": "elu", "LeakyReLU": "leaky_relu"}


def _pair(value) -> str:
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def _describe(layer) -> tuple[str, str | None]:
    """(kind without activation, activation or None) for one Keras layer."""
    name = type(layer).__name__
    cfg = layer.get_config()
    activation = cfg.get("activation")
    if activation == "linear":
        activation = None
    if name == "Dense":
        return f"Dense({cfg['units']})", activation
    if name in ("Conv2D", "Conv1D"):
        parts = [str(cfg["filters"]), _pair(cfg["kernel_size"])]
        if cfg.get("padding", "valid") != "valid":
            parts.append(cfg["padding"])
        if tuple(cfg.get("strides", (1, 1))) not in ((1, 1), (1,)):
            parts.append(f"strides {_pair(cfg['strides'])}")
        return f"{name}({', '.join(parts)})", activation
    if name in ("MaxPooling2D", "AveragePooling2D"):
        parts = [_pair(cfg["pool_size"])]
        if cfg.get("strides") not in (None, cfg["pool_size"]):
            parts.append(f"strides {_pair(cfg['strides'])}")
        if cfg.get("padding", "valid") != "valid":
            parts.append(cfg["padding"])
        return f"{name}({', '.join(parts)})", None
    if name == "Dropout":
        return f"Dropout({cfg['rate']:g})", None
    if name == "Activation":
        return "Activation", activation or "linear"
    if name in _ACTIVATION_LAYERS:
        return "Activation", _ACTIVATION_LAYERS[name]
    return name, activation


def _leaf_layers(model) -> list:
    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "layers") and type(layer).__name__ in ("Sequential", "Functional"):
            layers.extend(_leaf_layers(layer))
        else:
            layers.append(layer)
    return layers


def _shape(layer) -> str:
    try:
        shape = tuple(layer.output.shape)[1:]
    except (AttributeError, ValueError):
        return "?"
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + (",)" if len(shape) == 1 else ")")
    )


def canonical_layers(model) -> tuple[LayerInfo, ...]:
    """The model as canonical steps: `Dense(512, relu)`, `Conv2D(32, 3x3, same, relu)`, ...

    An `Activation` layer (or `ReLU`/`Softmax` layer) right after a layer that takes an
    activation but has none (`Dense(512)`, `Conv2D(...)`) merges into it; anywhere else
    (after `Dropout`, `Flatten`, pooling) it stays a step of its own.
    """
    steps: list[list] = []  # [kind, activation, shape, params, takes an activation]
    for layer in _leaf_layers(model):
        kind, activation = _describe(layer)
        params = int(layer.count_params())
        if kind == "Activation" and steps and steps[-1][1] is None and steps[-1][4]:
            steps[-1][1] = activation
            steps[-1][3] += params
            continue
        takes_activation = "activation" in layer.get_config() and kind != "Activation"
        steps.append([kind, activation, _shape(layer), params, takes_activation])
    infos = []
    for kind, activation, shape, params, _ in steps:
        if kind == "Activation":
            label = f"Activation({activation})"
        elif activation:
            label = f"{kind[:-1]}, {activation})" if kind.endswith(")") else f"{kind}({activation})"
        else:
            label = kind
        infos.append(
            LayerInfo(
                kind=label,
                output_shape=shape,
                params=params,
                layer_type=kind.split("(")[0],
                activation=activation or "",
            )
        )
    return tuple(infos)


def _key(layer: LayerInfo) -> tuple[str, str]:
    return (layer.layer_type or layer.kind.split("(")[0], layer.activation)


def align(
    expected: tuple[LayerInfo, ...], actual: tuple[LayerInfo, ...]
) -> list[tuple[int | None, int | None]]:
    """Pairs of (expected index, actual index) after an edit-distance alignment (as `difflib`
    does): first on the whole layer description, so identical layers pair up, then, between
    those, on layer type and activation, so `Dense(256)` still pairs with `Dense(512)`. One
    extra or missing layer becomes one unpaired row at the place where it occurs, instead of
    shifting every row after it. Runs that still differ are paired position by position."""
    return _align(expected, actual, 0, len(expected), 0, len(actual), level=0)


_ALIGN_KEYS = (lambda layer: layer.kind, _key)


def _align(expected, actual, i1, i2, j1, j2, level: int) -> list[tuple[int | None, int | None]]:
    key = _ALIGN_KEYS[level]
    matcher = difflib.SequenceMatcher(
        None, [key(e) for e in expected[i1:i2]], [key(a) for a in actual[j1:j2]], autojunk=False
    )
    pairs: list[tuple[int | None, int | None]] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        a1, a2, b1, b2 = a1 + i1, a2 + i1, b1 + j1, b2 + j1
        if tag == "equal":
            pairs += [(a1 + k, b1 + k) for k in range(a2 - a1)]
        elif level + 1 < len(_ALIGN_KEYS) and a2 > a1 and b2 > b1:
            pairs += _align(expected, actual, a1, a2, b1, b2, level + 1)
        else:
            n = min(a2 - a1, b2 - b1) if tag == "replace" else 0
            pairs += [(a1 + k, b1 + k) for k in range(n)]
            pairs += [(k, None) for k in range(a1 + n, a2)]
            pairs += [(None, k) for k in range(b1 + n, b2)]
    return pairs


def compare(
    expected: tuple[LayerInfo, ...],
    actual: tuple[LayerInfo, ...],
    attributes: tuple[str, ...] = ("kind", "output_shape", "params"),
) -> tuple[LayerRow, ...]:
    """Align two canonical sequences (`align`); mark the first divergence."""
    rows = []
    seen_divergence = False
    for i, (e, a) in enumerate(align(expected, actual)):
        exp = expected[e] if e is not None else None
        act = actual[a] if a is not None else None
        matches = (
            exp is not None
            and act is not None
            and all(getattr(exp, attr) == getattr(act, attr) for attr in attributes)
        )
        first = not matches and not seen_divergence
        seen_divergence = seen_divergence or not matches
        rows.append(LayerRow(i + 1, exp, act, matches, first))
    return tuple(rows)


def active_steps(layers: tuple[LayerInfo, ...]) -> tuple[LayerInfo, ...]:
    """The steps that compute something: without those that have no parameters and keep the
    shape of what they get (Dropout, GaussianNoise, ActivityRegularization, a lone
    Activation...). Only the layer-sequence check is about those; output shapes and
    parameter counts compare the rest, so one Dropout costs one check."""
    kept, previous = [], None
    for layer in layers:
        if layer.params == 0 and previous is not None and layer.output_shape == previous:
            continue
        kept.append(layer)
        previous = layer.output_shape
    return tuple(kept)


def input_shape(model) -> str:
    """The model's input shape without the batch axis, e.g. `(784,)`."""
    try:
        shape = tuple(model.inputs[0].shape)[1:]
    except (AttributeError, IndexError, TypeError, ValueError):
        return "?"
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def output_activation(model) -> str | None:
    """The activation the model ends with (after merging), e.g. `softmax`."""
    layers = _leaf_layers(model)
    for layer in reversed(layers):
        kind, activation = _describe(layer)
        if kind == "Activation" or activation:
            return activation
        if type(layer).__name__ not in ("Dropout", "Flatten", "Reshape"):
            return None
    return None
