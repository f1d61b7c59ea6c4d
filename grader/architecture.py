"""Keras architectures as canonical layer sequences, and their layer-by-layer comparison.

Two models that compute the same thing should compare equal however they were written:
`Dense(512, activation="relu")` and `Dense(512)` followed by `Activation("relu")` (seed 003's
style), `Sequential` and functional models, nested `Sequential`s. So each model becomes a
sequence of canonical steps: a layer with its key settings, merged with the activation
that follows it, with its output shape and parameter count.
"""

from __future__ import annotations

from grader.results import LayerInfo, LayerRow

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


def compare(
    expected: tuple[LayerInfo, ...],
    actual: tuple[LayerInfo, ...],
    attributes: tuple[str, ...] = ("kind", "output_shape", "params"),
) -> tuple[LayerRow, ...]:
    """Align two canonical sequences position by position; mark the first divergence."""
    rows = []
    seen_divergence = False
    for i in range(max(len(expected), len(actual))):
        exp = expected[i] if i < len(expected) else None
        act = actual[i] if i < len(actual) else None
        matches = (
            exp is not None
            and act is not None
            and all(getattr(exp, a) == getattr(act, a) for a in attributes)
        )
        first = not matches and not seen_divergence
        seen_divergence = seen_divergence or not matches
        rows.append(LayerRow(i + 1, exp, act, matches, first))
    return tuple(rows)


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
