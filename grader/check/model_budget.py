"""What rebuilding a submitted model would cost, read from its config before anything is built.

Phase 2 rebuilds every student's model (allowlisted built-in layers only) and runs it on the
test images. A config is untrusted input: ten Conv2D(256) layers or one very wide Dense would
make that take minutes or gigabytes for the whole class's session. So each model's layer
count, parameter count and inference FLOPs are estimated from its config alone (every built
Keras 3 layer records its input shape in `build_config`) and refused above a multiple of the
reference's, before Keras allocates a single weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class TooCostly(Exception):
    """The model is over a budget; the message says which and by how much."""


@dataclass(frozen=True)
class Cost:
    layers: int
    params: int
    flops: int
    """Multiply-adds times two, per input sample."""


@dataclass(frozen=True)
class Budget:
    max_layers: int
    max_params: int
    max_flops: int

    @classmethod
    def relative_to(cls, reference: Cost, factor: int = 20) -> Budget:
        """`factor` times the reference's (with floors that leave room for small models)."""
        return cls(
            max_layers=max(64, 8 * reference.layers),
            max_params=max(2_000_000, factor * reference.params),
            max_flops=max(50_000_000, factor * reference.flops),
        )

    def check(self, cost: Cost, what: str = "the model") -> None:
        for name, value, limit in (
            ("layers", cost.layers, self.max_layers),
            ("parameters", cost.params, self.max_params),
            ("operations per image", cost.flops, self.max_flops),
        ):
            if value > limit:
                raise TooCostly(
                    f"{what} has {value:,} {name}; the grader checks models of at most "
                    f"{limit:,} (a multiple of the reference's)"
                )


def _shape(value) -> tuple | None:
    if isinstance(value, list | tuple) and all(v is None or isinstance(v, int) for v in value):
        return tuple(value)
    return None


def _pair(value, default: int = 1) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, list | tuple) and len(value) == 2:
        if all(isinstance(v, int) for v in value):
            return int(value[0]), int(value[1])
    if isinstance(value, list | tuple) and len(value) == 1 and isinstance(value[0], int):
        return int(value[0]), 1
    return default, default


def _dim(value) -> int:
    return int(value) if isinstance(value, int) and value > 0 else 1


def layer_cost(class_name: str, config: dict, input_shape: tuple | None) -> tuple[int, int]:
    """(parameters, FLOPs per sample) of one built-in layer on an input of `input_shape`
    (with the batch axis). Unknown layers and layers without a shape cost their input size."""
    shape = input_shape[1:] if input_shape else ()
    size = math.prod(_dim(d) for d in shape) if shape else 1
    channels = _dim(shape[-1]) if shape else 1
    bias = bool(config.get("use_bias", True))
    if class_name == "Dense":
        units = _dim(config.get("units"))
        rows = size // channels if channels else 1
        return channels * units + (units if bias else 0), 2 * rows * channels * units
    if class_name in ("Conv2D", "Conv1D", "SeparableConv2D", "DepthwiseConv2D"):
        kh, kw = _pair(config.get("kernel_size"), 3)
        if class_name == "Conv1D":
            kw = 1
        sh, sw = _pair(config.get("strides"), 1)
        filters = _dim(config.get("filters") or channels)
        spatial = [_dim(d) for d in shape[:-1]] or [1]
        if config.get("padding", "valid") == "same":
            out = [math.ceil(d / s) for d, s in zip(spatial, (sh, sw), strict=False)]
        else:
            out = [max(1, (d - k) // s + 1) for d, k, s in zip(spatial, (kh, kw), (sh, sw),
                                                              strict=False)]  # fmt: skip
        positions = math.prod(out)
        if class_name == "DepthwiseConv2D":
            mult = _dim(config.get("depth_multiplier"))
            params = kh * kw * channels * mult + (channels * mult if bias else 0)
            return params, 2 * positions * kh * kw * channels * mult
        if class_name == "SeparableConv2D":
            params = kh * kw * channels + channels * filters + (filters if bias else 0)
            return params, 2 * positions * (kh * kw * channels + channels * filters)
        params = kh * kw * channels * filters + (filters if bias else 0)
        return params, 2 * positions * kh * kw * channels * filters
    if class_name == "BatchNormalization":
        return 4 * channels, 4 * size
    if class_name == "LayerNormalization":
        return 2 * channels, 4 * size
    if class_name == "PReLU":
        return size, 2 * size
    return 0, size


def estimate(config: object) -> Cost:
    """The cost of a model config (Sequential or functional, possibly nested).

    Raises:
        TooCostly: where a layer's size cannot even be read (a forged config).
    """
    if not isinstance(config, dict):
        raise TooCostly("the model config is not an object")
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    layers = inner.get("layers") if isinstance(inner.get("layers"), list) else []
    total = Cost(0, 0, 0)
    previous: tuple | None = None
    for entry in layers:
        if not isinstance(entry, dict):
            continue
        class_name = entry.get("class_name")
        layer_config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        if class_name in ("Sequential", "Functional", "Model"):
            sub = estimate(entry)
            total = Cost(total.layers + sub.layers, total.params + sub.params,
                         total.flops + sub.flops)  # fmt: skip
            continue
        if class_name == "InputLayer":
            previous = _shape(layer_config.get("batch_shape")) or previous
            continue
        build = entry.get("build_config") if isinstance(entry.get("build_config"), dict) else {}
        input_shape = _shape(build.get("input_shape")) or previous
        params, flops = layer_cost(str(class_name), layer_config, input_shape)
        total = Cost(total.layers + 1, total.params + params, total.flops + flops)
        if class_name == "Dense" and input_shape:
            previous = (*input_shape[:-1], _dim(layer_config.get("units")))
        elif input_shape and params == 0:
            previous = input_shape
        else:
            previous = None  # shapes after convolutions and the like come from build_config
    return total
