"""Geometry for the reports' inline SVG charts: plain numbers and point lists.

The templates' macros draw the markup; this module only decides where things go, so the
charts are testable without parsing SVG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

LINE = {"width": 360, "height": 200, "left": 46, "right": 12, "top": 12, "bottom": 34}
"""Line chart canvas and plot margins, in SVG user units."""
HIST = {"width": 520, "height": 220, "left": 40, "right": 20, "top": 12, "bottom": 40}
"""Histogram canvas and plot margins, in SVG user units."""
SCATTER = {"width": 320, "height": 300, "left": 46, "right": 12, "top": 12, "bottom": 40}
"""Scatter plot canvas and plot margins, in SVG user units."""
HEAT_LEVELS = 8
"""Number of colour steps of the confusion matrix (CSS classes `d1..d8`, `e1..e8`)."""


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi], about `count` of them (1-2-2.5-5 steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi - lo < 1e-12:
        lo, hi = (lo - 0.5, hi + 0.5) if lo != 0 else (0.0, 1.0)
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    start, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
    return [round(start + i * step, 10) for i in range(round((end - start) / step) + 1)]


def tick_label(value: float, ticks: Sequence[float]) -> str:
    """A tick's text with as many decimals as the step between ticks needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > 1e-9:
        decimals += 1
    return f"{value:.{decimals}f}"


def _scale(value: float, lo: float, hi: float, a: float, b: float) -> float:
    return round(a + (value - lo) / (hi - lo) * (b - a), 1)


def metric_groups(history: Mapping[str, Sequence[float]]) -> list[tuple[str, dict]]:
    """History keys grouped per metric (`loss` with `val_loss`), loss and accuracy first."""
    groups: dict[str, dict[str, Sequence[float]]] = {}
    for key, values in history.items():
        base = key[4:] if key.startswith("val_") else key
        groups.setdefault(base, {})["validation" if key.startswith("val_") else "training"] = values
    first = {"loss": 0, "accuracy": 1}
    ordered = sorted(groups, key=lambda k: (first.get(k, 2), k))
    return [
        (k, {s: groups[k][s] for s in ("training", "validation") if s in groups[k]})
        for k in ordered
    ]


def line_chart(series: Mapping[str, Sequence[float]]) -> dict | None:
    """Coordinates of a per-epoch line chart of one metric.

    Args:
        series: label (`training`, `validation`) -> one value per epoch.

    Returns:
        A dict with the canvas size, the plot box, `series` (label, values, and `segments`:
        lists of (x, y) points, broken where a value is NaN or infinite), `points` for
        markers and the axes' `xticks`/`yticks` as (position, text); None without any
        finite value.
    """
    g = LINE
    finite = [v for vals in series.values() for v in vals if math.isfinite(v)]
    epochs = max((len(v) for v in series.values()), default=0)
    if not finite or epochs == 0:
        return None
    ticks = nice_ticks(min(finite), max(finite))
    lo, hi = ticks[0], ticks[-1]
    x0, x1 = g["left"], g["width"] - g["right"]
    y0, y1 = g["height"] - g["bottom"], g["top"]

    def x_of(epoch: int) -> float:
        return round((x0 + x1) / 2, 1) if epochs == 1 else _scale(epoch, 1, epochs, x0, x1)

    out = []
    for label, values in series.items():
        segments: list[list[tuple[float, float]]] = [[]]
        points = []
        for epoch, value in enumerate(values, start=1):
            if math.isfinite(value):
                point = (x_of(epoch), _scale(value, lo, hi, y0, y1))
                segments[-1].append(point)
                points.append((*point, epoch, round(value, 4)))
            elif segments[-1]:
                segments.append([])
        out.append(
            {
                "label": label,
                "segments": [s for s in segments if s],
                "points": points,
                "missing": sum(1 for v in values if not math.isfinite(v)),
            }
        )
    every = max(1, math.ceil(epochs / 10))
    return {
        "width": g["width"],
        "height": g["height"],
        "box": _box(x0, x1, y0, y1),
        "series": out,
        "epochs": epochs,
        "xticks": [(x_of(e), str(e)) for e in range(1, epochs + 1) if (e - 1) % every == 0],
        "yticks": [(_scale(t, lo, hi, y0, y1), tick_label(t, ticks)) for t in ticks],
    }


def histogram(
    values: Sequence[float], top: float, bins: int = 10, lo: float = 0.0,
    unit: str = "points", counted: str = "students",
) -> dict | None:  # fmt: skip
    """Coordinates of a histogram of `values` over [lo, top] in `bins` equal bins.

    The last bin includes `top` (full marks). Returns None when the range is empty.
    `unit` names the x axis and `counted` what a bar counts (for the tooltips).
    """
    g = HIST
    span = top - lo
    if span <= 0 or bins < 1:
        return None
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int((v - lo) / span * bins)))] += 1
    ticks = nice_ticks(0, max(max(counts), 1), count=5, integer=True)
    x0, x1 = g["left"], g["width"] - g["right"]
    y0, y1 = g["height"] - g["bottom"], g["top"]
    width = (x1 - x0) / bins
    bars = []
    for i, count in enumerate(counts):
        y = _scale(count, 0, ticks[-1], y0, y1)
        low, high = lo + span * i / bins, lo + span * (i + 1) / bins
        bars.append(
            {
                "x": round(x0 + i * width + 1, 1),
                "y": y,
                "w": round(width - 2, 1),
                "h": round(y0 - y, 1),
                "count": count,
                "range": f"{_number(low)}–{_number(high)}",
            }
        )
    return {
        "width": g["width"],
        "height": g["height"],
        "box": _box(x0, x1, y0, y1),
        "bars": bars,
        "xticks": [
            (round(x0 + i * width, 1), _number(lo + span * i / bins)) for i in range(bins + 1)
        ],
        "yticks": [(_scale(t, 0, ticks[-1], y0, y1), tick_label(t, ticks)) for t in ticks],
        "unit": unit,
        "counted": counted,
        "aria": f"Number of {counted} per {'score' if unit == 'points' else unit} range",
    }


def residual_histogram(residuals: Sequence[float], bins: int = 8) -> dict | None:
    """A histogram of predicted minus true, symmetric about 0."""
    finite = [r for r in residuals if math.isfinite(r)]
    if not finite:
        return None
    ticks = nice_ticks(0, max(abs(r) for r in finite) or 1.0, count=3)
    top = ticks[-1]
    return histogram(finite, top, bins, lo=-top, unit="predicted − true", counted="examples")


def scatter(points: Sequence[tuple[float, float]]) -> dict | None:
    """Coordinates of a predicted-against-true scatter plot with the diagonal (a perfect
    prediction), both axes over the same range."""
    pts = [(t, p) for t, p in points if math.isfinite(t) and math.isfinite(p)]
    if not pts:
        return None
    g = SCATTER
    values = [v for pt in pts for v in pt]
    ticks = nice_ticks(min(values), max(values), count=5)
    lo, hi = ticks[0], ticks[-1]
    x0, x1 = g["left"], g["width"] - g["right"]
    y0, y1 = g["height"] - g["bottom"], g["top"]
    return {
        "width": g["width"],
        "height": g["height"],
        "box": _box(x0, x1, y0, y1),
        "diagonal": (x0, y0, x1, y1),
        "dots": [
            (_scale(t, lo, hi, x0, x1), _scale(p, lo, hi, y0, y1), _number(t), _number(p))
            for t, p in pts
        ],
        "xticks": [(_scale(t, lo, hi, x0, x1), tick_label(t, ticks)) for t in ticks],
        "yticks": [(_scale(t, lo, hi, y0, y1), tick_label(t, ticks)) for t in ticks],
    }


def heat_level(count: int, total: int) -> int:
    """Colour step 0..HEAT_LEVELS of a confusion-matrix cell: its share of the row, any
    non-zero count at least 1 so that rare mistakes stay visible."""
    if count <= 0 or total <= 0:
        return 0
    return max(1, min(HEAT_LEVELS, round(HEAT_LEVELS * count / total)))


def _box(x0: float, x1: float, y0: float, y1: float) -> dict:
    """The plot area, with where axis labels go (left of y ticks, below x ticks, centre)."""
    return {
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "mid_x": round((x0 + x1) / 2, 1),
        "tick_x": x0 - 6,
        "tick_y": y0 + 16,
        "title_y": y0 + 30,
    }


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
