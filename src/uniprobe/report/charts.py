"""Small SVG charts, drawn here so the report needs no plotting library and no script.

Four kinds: horizontal grouped bars (one bar per series in each category, with optional
95% whiskers), points joined by lines over ordered categories (with whiskers),
horizontal stacked bars (one bar per row, split into named shares that sum to at most
1), and a square scatter of two shares (with the diagonal y = x and whiskers both ways). Every
string that reaches the SVG — category names, series names, tooltips — is XML-escaped,
and the output is a standalone, well-formed `<svg>` element that can be inlined in HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = [
    "PALETTE",
    "Axis",
    "Dot",
    "Point",
    "Series",
    "Spot",
    "Stack",
    "bar_chart",
    "line_chart",
    "pct",
    "scatter_chart",
    "stacked_chart",
]

PALETTE = ("#2c6fbb", "#e07b24", "#2e9e5b", "#c0392b", "#8e44ad", "#7f8c8d", "#b8860b", "#17becf")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
_WIDTH = 760
_CHAR = 6.2  # average width of an 11px character, to size the label column


def pct(value: float) -> str:
    """0.625 -> '62.5%'."""
    return f"{100 * value:.1f}%"


def _count(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Point:
    """One value, with its 95% interval if known."""

    value: float
    low: float | None = None
    high: float | None = None
    note: str = ""
    """Extra words for the tooltip (e.g. 'n=40')."""


@dataclass(frozen=True)
class Series:
    """One run (or one comparison): a point per category, None where it has none."""

    name: str
    points: Sequence[Point | None]


@dataclass(frozen=True)
class Axis:
    """The value axis: its range, ticks and how to print a value."""

    low: float = 0.0
    high: float = 1.0
    ticks: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)
    fmt: Callable[[float], str] = field(default=pct)

    @classmethod
    def counts(cls, largest: float) -> Axis:
        """0 to the first of 5, 10, 20, 50, 100, ... that reaches `largest`, with whole ticks."""
        top = 5.0
        while top < largest:
            top *= 2.5 if str(int(top))[0] == "2" else 2
        parts = 4 if str(int(top))[0] == "2" else 5
        return cls(0.0, top, [top * i / parts for i in range(parts + 1)], _count)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _tip(series: str, category: str, p: Point, fmt: Callable[[float], str]) -> str:
    text = f"{series} · {category}: {fmt(p.value)}"
    if p.low is not None and p.high is not None:
        text += f" [{fmt(p.low)}, {fmt(p.high)}]"
    return text + (f" ({p.note})" if p.note else "")


def _open(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{_e(title)}" {_FONT}>',
        f"<title>{_e(title)}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>',
    ]


def _legend(
    series: Sequence[Series], x: float, y: float, colours: Sequence[str] = PALETTE
) -> list[str]:
    parts = []
    for i, s in enumerate(series):
        colour = colours[i % len(colours)]
        parts.append(
            f'<g class="legend-item"><rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" '
            f'fill="{colour}"/><text x="{x + 14:.1f}" y="{y:.1f}">{_e(s.name)}</text></g>'
        )
        x += 28 + _CHAR * len(s.name)
    return parts


def _whisker(x0: float, x1: float, y: float, horizontal: bool = True) -> str:
    if horizontal:
        return (
            f'<path class="whisker" d="M{x0:.1f} {y:.1f}H{x1:.1f}M{x0:.1f} {y - 3:.1f}'
            f'V{y + 3:.1f}M{x1:.1f} {y - 3:.1f}V{y + 3:.1f}" stroke="#222" fill="none"/>'
        )
    return (
        f'<path class="whisker" d="M{y:.1f} {x0:.1f}V{x1:.1f}M{y - 3:.1f} {x0:.1f}'
        f'H{y + 3:.1f}M{y - 3:.1f} {x1:.1f}H{y + 3:.1f}" stroke="#222" fill="none"/>'
    )


def bar_chart(
    categories: Sequence[str], series: Sequence[Series], *, title: str, axis: Axis | None = None
) -> str:
    """Horizontal bars: a band per category, a bar per series, whiskers where known."""
    axis = axis or Axis()
    label_w = min(260.0, 20 + _CHAR * max((len(c) for c in categories), default=4))
    x0, x1 = label_w + 8, _WIDTH - 70
    bar = 14.0 if len(series) == 1 else 10.0
    band = bar * len(series) + 8
    top = 24.0 if len(series) == 1 else 42.0
    height = top + band * len(categories) + 26

    def x(v: float) -> float:
        v = min(max(v, axis.low), axis.high)
        return x0 + (v - axis.low) / (axis.high - axis.low) * (x1 - x0)

    parts = _open(_WIDTH, height, title)
    if len(series) > 1:
        parts += _legend(series, x0, 16)
    bottom = top + band * len(categories)
    for t in axis.ticks:
        parts.append(
            f'<line class="grid" x1="{x(t):.1f}" y1="{top - 4:.1f}" x2="{x(t):.1f}" '
            f'y2="{bottom:.1f}" stroke="#e4e4e4"/><text x="{x(t):.1f}" y="{bottom + 14:.1f}" '
            f'text-anchor="middle" fill="#666">{_e(axis.fmt(t))}</text>'
        )
    base = x(max(axis.low, min(0.0, axis.high)))
    for ci, category in enumerate(categories):
        y = top + band * ci
        short = category if len(category) * _CHAR <= label_w - 12 else category[:38] + "…"
        parts.append(
            f'<text class="category" x="{label_w:.1f}" y="{y + band / 2 + 3:.1f}" '
            f'text-anchor="end">{_e(short)}<title>{_e(category)}</title></text>'
        )
        for si, s in enumerate(series):
            p = s.points[ci] if ci < len(s.points) else None
            if p is None:
                continue
            by = y + 4 + si * bar
            left, right = sorted((base, x(p.value)))
            parts.append(
                f'<rect class="bar" x="{left:.1f}" y="{by:.1f}" width="{max(right - left, 1):.1f}" '
                f'height="{bar - 2:.1f}" fill="{PALETTE[si % len(PALETTE)]}">'
                f"<title>{_e(_tip(s.name, category, p, axis.fmt))}</title></rect>"
            )
            end = right
            if p.low is not None and p.high is not None:
                parts.append(_whisker(x(p.low), x(p.high), by + (bar - 2) / 2))
                end = max(end, x(p.high))
            parts.append(
                f'<text class="value" x="{end + 4:.1f}" y="{by + bar - 4:.1f}" fill="#444" '
                f'font-size="9">{_e(axis.fmt(p.value))}</text>'
            )
    parts.append(
        f'<line class="baseline" x1="{base:.1f}" y1="{top - 4:.1f}" x2="{base:.1f}" '
        f'y2="{bottom:.1f}" stroke="#888"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_title: str,
    axis: Axis | None = None,
) -> str:
    """Points over ordered categories, joined per series, with vertical whiskers."""
    axis = axis or Axis()
    height, left, right, top, bottom = 300.0, 56.0, _WIDTH - 24.0, 40.0, 250.0
    step = (right - left) / max(len(categories), 1)

    def y(v: float) -> float:
        v = min(max(v, axis.low), axis.high)
        return bottom - (v - axis.low) / (axis.high - axis.low) * (bottom - top)

    parts = _open(_WIDTH, height, title)
    parts += _legend(series, left, 18)
    for t in axis.ticks:
        parts.append(
            f'<line class="grid" x1="{left:.1f}" y1="{y(t):.1f}" x2="{right:.1f}" y2="{y(t):.1f}" '
            f'stroke="#e4e4e4"/><text x="{left - 6:.1f}" y="{y(t) + 4:.1f}" text-anchor="end" '
            f'fill="#666">{_e(axis.fmt(t))}</text>'
        )
    for ci, category in enumerate(categories):
        cx = left + step * (ci + 0.5)
        parts.append(
            f'<text class="category" x="{cx:.1f}" y="{bottom + 18:.1f}" '
            f'text-anchor="middle">{_e(category)}</text>'
        )
    parts.append(
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 40:.1f}" text-anchor="middle" '
        f'fill="#444">{_e(x_title)}</text>'
    )
    spread = min(12.0, step / (len(series) + 1))
    for si, s in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        offset = (si - (len(series) - 1) / 2) * spread
        placed = [
            (left + step * (ci + 0.5) + offset, p, categories[ci])
            for ci, p in enumerate(s.points[: len(categories)])
            if p is not None
        ]
        if len(placed) > 1:
            d = "M" + "L".join(f"{px:.1f} {y(p.value):.1f}" for px, p, _ in placed)
            parts.append(f'<path class="line" d="{d}" stroke="{colour}" fill="none"/>')
        for px, p, category in placed:
            if p.low is not None and p.high is not None:
                parts.append(_whisker(y(p.high), y(p.low), px, horizontal=False))
            parts.append(
                f'<circle class="point" cx="{px:.1f}" cy="{y(p.value):.1f}" r="4" '
                f'fill="{colour}"><title>{_e(_tip(s.name, category, p, axis.fmt))}</title>'
                "</circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Stack:
    """One stacked bar: a share per segment (None where unknown), in the chart's order."""

    label: str
    shares: Sequence[float | None]
    note: str = ""
    """Words printed after the bar and in its tooltips (e.g. 'n=40, 3 unknown')."""


def stacked_chart(
    stacks: Sequence[Stack],
    segments: Sequence[tuple[str, str, str]],
    *,
    title: str,
) -> str:
    """Horizontal stacked bars from 0% to 100%: a row per stack, a segment per
    `(key, label, colour)` laid left to right, each as wide as its share of the axis. A
    legend names the segments; a segment's `data-segment` is its key, `data-share` its
    share."""
    label_w = min(300.0, 20 + _CHAR * max((len(s.label) for s in stacks), default=4))
    x0, x1 = label_w + 8, _WIDTH - 110
    band, top = 20.0, 42.0
    bottom = top + band * len(stacks)
    parts = _open(_WIDTH, bottom + 26, title)
    parts += _legend(
        [Series(label, ()) for _, label, _ in segments], x0, 16, [c for *_, c in segments]
    )
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = x0 + t * (x1 - x0)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="{top - 4:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
            f'stroke="#e4e4e4"/><text x="{x:.1f}" y="{bottom + 14:.1f}" text-anchor="middle" '
            f'fill="#666">{_e(pct(t))}</text>'
        )
    for i, stack in enumerate(stacks):
        y = top + band * i
        parts.append(
            f'<text class="category" x="{label_w:.1f}" y="{y + band / 2 + 3:.1f}" '
            f'text-anchor="end">{_e(stack.label)}</text>'
        )
        parts.append(f'<g class="stack" data-label="{_e(stack.label)}">')
        left = x0
        for (key, name, colour), share in zip(segments, stack.shares, strict=False):
            if share is None:
                continue
            width = max(0.0, min(share, 1.0)) * (x1 - x0)
            tip = f"{stack.label} · {name}: {pct(share)}" + (
                f" ({stack.note})" if stack.note else ""
            )
            parts.append(
                f'<rect class="segment" data-segment="{_e(key)}" data-share="{share:.6g}" '
                f'x="{left:.2f}" y="{y + 3:.1f}" width="{width:.2f}" height="{band - 6:.1f}" '
                f'fill="{colour}"><title>{_e(tip)}</title></rect>'
            )
            left += width
        parts.append("</g>")
        if stack.note:
            parts.append(
                f'<text class="value" x="{x1 + 6:.1f}" y="{y + band / 2 + 3:.1f}" fill="#444" '
                f'font-size="9">{_e(stack.note)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Dot:
    """One point of a scatter: two shares, with their 95% intervals if known."""

    label: str
    x: float
    y: float
    x_ci: tuple[float, float] | None = None
    y_ci: tuple[float, float] | None = None
    note: str = ""


@dataclass(frozen=True)
class Spot:
    """One series of a scatter (a run): its points share a colour."""

    name: str
    dots: Sequence[Dot]


def scatter_chart(spots: Sequence[Spot], *, title: str, x_title: str, y_title: str) -> str:
    """A square plot of shares from 0% to 100% on both axes, the diagonal y = x drawn,
    a circle per dot (`data-x`, `data-y` hold its values) with whiskers where known."""
    size, left, top = 380.0, 64.0, 40.0
    width, height = left + size + 24, top + size + 48
    right, bottom = left + size, top + size

    def px(v: float) -> float:
        return left + min(max(v, 0.0), 1.0) * size

    def py(v: float) -> float:
        return bottom - min(max(v, 0.0), 1.0) * size

    parts = _open(width, height, title)
    parts += _legend([Series(s.name, ()) for s in spots], left, 18)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line class="grid" x1="{px(t):.1f}" y1="{top:.1f}" x2="{px(t):.1f}" '
            f'y2="{bottom:.1f}" stroke="#e4e4e4"/><line class="grid" x1="{left:.1f}" '
            f'y1="{py(t):.1f}" x2="{right:.1f}" y2="{py(t):.1f}" stroke="#e4e4e4"/>'
            f'<text x="{px(t):.1f}" y="{bottom + 14:.1f}" text-anchor="middle" fill="#666">'
            f'{_e(pct(t))}</text><text x="{left - 6:.1f}" y="{py(t) + 4:.1f}" '
            f'text-anchor="end" fill="#666">{_e(pct(t))}</text>'
        )
    parts.append(
        f'<line class="diagonal" x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(1):.1f}" '
        f'y2="{py(1):.1f}" stroke="#888" stroke-dasharray="4 3"/>'
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 34:.1f}" text-anchor="middle" '
        f'fill="#444">{_e(x_title)}</text><text x="14" y="{(top + bottom) / 2:.1f}" '
        f'text-anchor="middle" fill="#444" transform="rotate(-90 14 {(top + bottom) / 2:.1f})">'
        f"{_e(y_title)}</text>"
    )
    for si, spot in enumerate(spots):
        colour = PALETTE[si % len(PALETTE)]
        for d in spot.dots:
            if d.x_ci is not None:
                parts.append(_whisker(px(d.x_ci[0]), px(d.x_ci[1]), py(d.y)))
            if d.y_ci is not None:
                parts.append(_whisker(py(d.y_ci[1]), py(d.y_ci[0]), px(d.x), horizontal=False))
            tip = f"{spot.name} · {d.label}: {x_title} {pct(d.x)}, {y_title} {pct(d.y)}"
            parts.append(
                f'<circle class="dot" data-series="{_e(spot.name)}" data-label="{_e(d.label)}" '
                f'data-x="{d.x:.6g}" data-y="{d.y:.6g}" cx="{px(d.x):.2f}" cy="{py(d.y):.2f}" '
                f'r="4.5" fill="{colour}" fill-opacity="0.8"><title>'
                f"{_e(tip + (f' ({d.note})' if d.note else ''))}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
