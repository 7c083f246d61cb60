"""What the gallery draws over an image: the boxes judges recorded, and diff heat-maps.

* **Boxes.** Judges record boxes as `{"box": [x0, y0, x1, y1], ...}` anywhere in a
  verdict's evidence (the reference and detector judges' `detections`, `subject`,
  `object`, a `within` part, the pixels judge's `excluded` regions) in the pixels of the
  image they looked at. Boxes under a `reference` entry with a `turn` belong to that
  turn's canvas (a count that `matches` an earlier image).
* **Canvas.** The image a check looked at follows the scoring engine's canvas rule:
  the last image the model drew in that turn, else the latest earlier image of the
  conversation (drawn or attached).
* **Heat-maps.** For `unchanged` and `same_as`, the canvas is brought into the
  comparison image's frame with the pixels judge's own `align` rule, and every pixel is
  coloured by how much it changed: yellow to red above the judge's default threshold
  (24/255 on a channel), faint orange below it, over a pale copy of the comparison
  image. When the verdict was decided after alignment (the pixels judge's `aligned`
  metric), the heat-map shows that measure instead: the canvas warped by the recorded
  registration, its colours mapped by the recorded fit, both smoothed by the recorded
  sigma, red above the recorded `color_threshold` — a re-rendered but unchanged frame
  stays pale. Its `changed` box is the aligned one too (`uniprobe.report.locality`).
  Heat-maps are cached by the pair of image hashes (and the alignment, if any).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from uniprobe.errors import RunDirError
from uniprobe.hashing import sha256_bytes
from uniprobe.report.locality import Alignment, measure_of
from uniprobe.scoring.engine import canvas_source
from uniprobe.scoring.imaging import align
from uniprobe.scoring.judges.pixels import PixelsJudge
from uniprobe.store.records import ImageRef, SampleRecord

__all__ = [
    "HEATMAP_SIDE",
    "Heatmaps",
    "boxes_of",
    "canvas_ref",
    "check_turn",
    "heatmap",
    "link_or_copy",
]

HEATMAP_SIDE = 512
"""Heat-maps larger than this on their longer side are shrunk (changes kept visible)."""
_THRESHOLD: int = PixelsJudge.Options().pixel_threshold
_LABEL_KEYS = ("concept", "label", "part", "object", "name")


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link `source` to `target`, or copy it where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def canvas_ref(sample: SampleRecord, turn: int) -> ImageRef | None:
    """The image turn `turn`'s checks look at (the scoring engine's canvas rule)."""
    return canvas_source(sample, turn).ref


def check_turn(check: Mapping[str, Any]) -> int | None:
    """The `turn` a check names for its canvas, if it names one."""
    if len(check) == 1:
        body = next(iter(check.values()))
        if isinstance(body, Mapping) and isinstance(body.get("turn"), int):
            return int(body["turn"])
    return None


def _box(value: Any) -> list[float] | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    return [float(v) for v in value]


def _walk(node: Any, role: str, turn: int | None) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """Boxes under `node` (a dict or a list), with the turn whose canvas they are on."""
    if isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                yield from _walk(item, role, turn)
        return
    if role == "reference" and isinstance(node.get("turn"), int):
        turn = int(node["turn"])
    if "box" in node and (box := _box(node["box"])) is not None:
        label = next((str(node[k]) for k in _LABEL_KEYS if isinstance(node.get(k), str)), "")
        yield turn, {"box": box, "label": label or role, "role": role}
    for key, value in node.items():
        if key != "box" and isinstance(value, dict | list):
            yield from _walk(value, str(key), turn)


def boxes_of(evidence: Mapping[str, Any]) -> dict[int | None, list[dict[str, Any]]]:
    """Boxes in a verdict's evidence: under None those on the verdict's own image, under
    N those on turn N's canvas. A pixels verdict's changed box is one of them: the one
    after alignment where the verdict was decided after alignment."""
    out: dict[int | None, list[dict[str, Any]]] = {}
    for turn, box in _walk(evidence, "evidence", None):
        out.setdefault(turn, []).append(box)
    changed = measure_of(evidence).changed_box
    if changed is not None:
        out.setdefault(None, []).append({"box": changed, "label": "changed", "role": "changed"})
    return out


@cache
def _palette(threshold: int = _THRESHOLD) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Per difference 0..255: how much of the pale background stays (0..255), and what
    colour is added (faint orange up to the threshold, then yellow to red)."""
    d = np.arange(256, dtype=np.float32)
    faint, strong = (d > 4) & (d <= threshold), d > threshold
    keep = np.where(strong, 0.0, np.where(faint, 0.6, 1.0)) * 255
    t = np.clip((d - threshold) / 100.0, 0, 1)
    add = np.zeros((256, 3), np.float32)
    add[faint] = np.array([255, 170, 90], np.float32) * 0.4
    add[strong] = np.stack([235 - 20 * t, 210 * (1 - t), np.zeros_like(t)], axis=1)[strong]
    as_u8 = np.round(add).astype(np.uint8).reshape(1, 256, 3)
    return np.round(keep).astype(np.uint8), as_u8


_PALE = np.round(np.arange(256) * 0.25 + 185).astype(np.uint8)


def heatmap(
    reference: Image.Image, canvas: Image.Image, alignment: Alignment | None = None
) -> Image.Image:
    """The change from `reference` to `canvas`, in the reference's frame, as the verdict
    measured it: strictly, or after `alignment` (see the module)."""
    a = np.asarray(reference.convert("RGB"))
    b = np.asarray(align(canvas.convert("RGB"), reference.size))
    if alignment is None:
        r, g, bl = cv2.split(cv2.absdiff(a, b))
        diff = np.maximum(np.maximum(r, g), bl)  # the channel that moved most
        return _draw(a, diff, _THRESHOLD)
    return _draw(a, _aligned_diff(a, b, alignment), alignment.color_threshold)


def _aligned_diff(a: NDArray[np.uint8], b: NDArray[np.uint8], how: Alignment) -> NDArray[np.uint8]:
    """Per pixel, the channel that moved most once `b` is warped and colour-matched onto
    `a` and both are smoothed, as the pixels judge measured it; 0 where the warped canvas
    has no content (not compared)."""
    h, w = a.shape[:2]
    matrix = np.array(how.matrix, np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(b, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(
        np.ones((h, w), np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    )
    levels = np.arange(256, dtype=np.float64)
    matched = np.empty_like(a)
    for c, (gain, offset) in enumerate(how.color_fit):
        lut = np.clip(gain * levels + offset + 0.5, 0, 255).astype(np.uint8)
        matched[..., c] = lut[warped[..., c]]
    if how.blur_sigma > 0:
        a = np.asarray(cv2.GaussianBlur(a, (0, 0), how.blur_sigma), dtype=np.uint8)
        matched = np.asarray(cv2.GaussianBlur(matched, (0, 0), how.blur_sigma), dtype=np.uint8)
    diff = np.asarray(cv2.absdiff(a, matched).max(axis=2), dtype=np.uint8)
    diff[inside == 0] = 0
    return diff


def _draw(a: NDArray[np.uint8], diff: NDArray[Any], threshold: int) -> Image.Image:
    """`diff` coloured over a pale copy of `a` (yellow to red above `threshold`)."""
    gray: NDArray[Any] = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    scale = HEATMAP_SIDE / max(diff.shape)
    if scale < 1:
        k = int(np.ceil(1 / scale))
        diff = cv2.dilate(diff, np.ones((k, k), np.uint8))  # a 1-pixel change stays visible
        size = (max(1, round(diff.shape[1] * scale)), max(1, round(diff.shape[0] * scale)))
        diff = cv2.resize(diff, size, interpolation=cv2.INTER_NEAREST)
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    # uint8 look-up tables all the way: pale background x share kept + colour of change
    keep, add = _palette(threshold)
    kept = cv2.multiply(cv2.LUT(gray, _PALE), cv2.LUT(diff, keep), scale=1 / 255)
    added = cv2.LUT(cv2.merge([diff, diff, diff]), add)
    out = cv2.add(cv2.merge([kept, kept, kept]), added)
    return Image.fromarray(np.asarray(out), "RGB")


class Heatmaps:
    """Heat-maps of a report folder, by pair of image hashes; computed on `flush`."""

    def __init__(self, folder: Path, *, previous: Path | None = None) -> None:
        self.folder = folder
        self.previous = previous
        self._todo: dict[str, tuple[Path, Path, Alignment | None]] = {}
        self._done: set[str] = set()

    def request(
        self,
        reference: tuple[str, Path],
        canvas: tuple[str, Path],
        alignment: Alignment | None = None,
    ) -> str:
        """File name of the heat-map of this (sha256, path) pair, made on `flush` (after
        `alignment`, if given: the name then ends in a hash of it)."""
        tail = "" if alignment is None else "-a" + sha256_bytes(alignment.key().encode())[:12]
        name = f"{reference[0]}-{canvas[0]}{tail}.png"
        if name not in self._done and name not in self._todo:
            self._todo[name] = (reference[1], canvas[1], alignment)
        return name

    def flush(self, workers: int | None = None) -> int:
        """Make every requested heat-map not already made; returns how many were computed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        todo: list[tuple[str, Path, Path, Alignment | None]] = []
        for name, (ref, can, alignment) in self._todo.items():
            old = self.previous / name if self.previous is not None else None
            if old is not None and old.is_file():
                link_or_copy(old, self.folder / name)
            else:
                todo.append((name, ref, can, alignment))
        self._done.update(self._todo)
        self._todo.clear()
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            list(pool.map(self._make, todo))
        return len(todo)

    def _make(self, job: tuple[str, Path, Path, Alignment | None]) -> None:
        name, ref, can, alignment = job
        image = heatmap(_rgb(ref), _rgb(can), alignment)
        image.save(self.folder / name, format="PNG", compress_level=3)


def _rgb(path: Path) -> Image.Image:
    """A run's image decoded; a missing or damaged file raises `RunDirError` naming it."""
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise RunDirError(
            f"{path}: not a readable image ({exc}); restore it from a backup, or delete its "
            "sample's line in samples.jsonl and re-run `uniprobe run --resume`"
        ) from None
