"""The OCR judge: `text` checks read with Tesseract, matched fuzzily with a recorded threshold.

Tesseract's page analysis can miss a small sign in a busy picture, so a `contains`
check the whole-image read does not satisfy also reads overlapping tiles (a `tiles` x
`tiles` grid, each tile grown by a quarter on every side) and searches the union of
all reads; if that still misses, a finer grid (`fine_tiles`, 3 x 3: a word beside a
glyph is garbled when both share a tile) and one whole-image read with a second page
segmentation mode (`fallback_psm`, 3: fully automatic), each of which has read legible
words that sparse-text mode (11) on a 2 x 2 grid missed. An `equals` check
compares the whole-image read only (tiles would add fragments twice). `equals: ""`
(no text at all, the literal reading of "write X on every image") passes when the read
holds no legible word: no token of `min_word` (3) or more letters or digits, since
Tesseract reads glyph outlines as short fragments ('vd', 'oe a').
"""

from __future__ import annotations

import asyncio
import difflib
import io
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

from PIL import Image
from pydantic import Field

from uniprobe.cases.checks import Check, Text
from uniprobe.hashing import sha256_bytes
from uniprobe.scoring.judge import Judge, JudgeContext, JudgeOptions, JudgeResult, judges

if TYPE_CHECKING:
    from uniprobe.config import Config

__all__ = ["OcrJudge", "normalize_text"]


def normalize_text(text: str) -> str:
    """Lower case, letters and digits only, single spaces."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _best_ratio(needle: str, hay: str) -> float:
    """Best similarity of `needle` to any window of `hay` of the same number of words."""
    if not needle:
        return 1.0
    words = hay.split()
    n = len(needle.split())
    windows = [" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))]
    return max(difflib.SequenceMatcher(None, needle, w).ratio() for w in windows)


@judges.register("ocr")
class OcrJudge(Judge):
    """Reads text with the `tesseract` command-line program."""

    name = "ocr"
    version = "3"
    kinds = frozenset({"text"})

    class Options(JudgeOptions):
        """OCR settings; recorded with every score."""

        min_ratio: float = Field(0.8, ge=0, le=1)
        """Similarity (difflib ratio of normalized text) needed to pass."""
        binary: str = "tesseract"
        """The Tesseract program."""
        psm: int = Field(11, ge=0, le=13)
        """Tesseract page segmentation mode (11: sparse text, any layout)."""
        tiles: int = Field(2, ge=1, le=6)
        """contains: also read a tiles x tiles grid of overlapping crops (1: whole image)."""
        min_word: int = Field(3, ge=1, le=20)
        """equals "": a token this long or longer counts as legible text."""
        fine_tiles: int = Field(3, ge=1, le=6)
        """contains: if the tiles above miss, also read this finer grid (1: none)."""
        fallback_psm: int | None = Field(3, ge=0, le=13)
        """contains: if every read above misses, read the whole image once more in this
        page segmentation mode (None: no second mode)."""

    options: Options

    def __init__(self, options: Any = None, *, config: Config | None = None) -> None:
        self.options = self.Options.model_validate(options or {})
        self.min_ratio = self.options.min_ratio
        self.binary = self.options.binary
        self._read: dict[str, str] = {}

    def read_tiles(self, image: Image.Image, n: int | None = None) -> str | JudgeResult:
        """The whole-image read followed by the reads of an n x n grid of overlapping tiles
        (default n: `tiles`)."""
        parts = [self.read(image)]
        n = self.options.tiles if n is None else n
        w, h = image.size
        tw, th = w / n, h / n
        for i in range(n if n > 1 else 0):
            for j in range(n):
                box = (
                    max(0, round((j - 0.25) * tw)),
                    max(0, round((i - 0.25) * th)),
                    min(w, round((j + 1.25) * tw)),
                    min(h, round((i + 1.25) * th)),
                )
                parts.append(self.read(image.crop(box)))
        for part in parts:
            if isinstance(part, JudgeResult):
                return part
        return "\n".join(str(p) for p in parts)

    def read(self, image: Image.Image, psm: int | None = None) -> str | JudgeResult:
        """Tesseract's text of an image (remembered by pixel content), or why it failed."""
        mode = self.options.psm if psm is None else psm
        key = sha256_bytes(image.tobytes()) + str(image.size) + f"psm{mode}"
        if key in self._read:
            return self._read[key]
        exe = shutil.which(self.binary)
        if exe is None:
            return JudgeResult(
                "unknown", f"'{self.binary}' is not installed (apt-get install tesseract-ocr)"
            )
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        try:
            proc = subprocess.run(
                [exe, "stdin", "stdout", "--psm", str(mode)],
                input=buf.getvalue(),
                capture_output=True,
                timeout=60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return JudgeResult("unknown", "tesseract timed out")
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            last = err[-1] if err else f"exit status {proc.returncode}"
            return JudgeResult("unknown", f"tesseract failed: {last}")
        text = proc.stdout.decode("utf-8", "replace")
        self._read[key] = text
        if len(self._read) > 512:
            self._read.pop(next(iter(self._read)))
        return text

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Decide one text check."""
        return await asyncio.to_thread(self.decide, check, ctx)

    def decide(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Synchronous form of `judge`."""
        if not isinstance(check, Text):
            return JudgeResult("unknown", f"the OCR judge does not answer '{check.kind}'")
        if ctx.canvas.image is None:
            return JudgeResult("fail", "no image")
        raw = self.read(ctx.canvas.image)
        if isinstance(raw, JudgeResult):
            return raw
        read = normalize_text(raw)
        want = normalize_text(check.contains if check.contains is not None else check.equals or "")
        evidence: dict[str, Any] = {"read": raw.strip(), "normalized": read, "expected": want}
        if check.contains is not None:
            ratio = _best_ratio(want, read)
            if ratio < self.min_ratio and self.options.tiles > 1:
                tiled = self.read_tiles(ctx.canvas.image)
                if isinstance(tiled, JudgeResult):
                    return tiled
                searched = normalize_text(tiled)
                ratio = max(ratio, _best_ratio(want, searched))
                evidence.update(tiles=self.options.tiles, tiles_read=searched)
            fine = self.options.fine_tiles
            if ratio < self.min_ratio and fine > 1 and fine != self.options.tiles:
                tiled = self.read_tiles(ctx.canvas.image, fine)
                if isinstance(tiled, JudgeResult):
                    return tiled
                ratio = max(ratio, _best_ratio(want, normalize_text(tiled)))
                evidence.update(fine_tiles=fine, fine_tiles_read=normalize_text(tiled))
            fallback = self.options.fallback_psm
            if ratio < self.min_ratio and fallback is not None and fallback != self.options.psm:
                second = self.read(ctx.canvas.image, fallback)
                if isinstance(second, JudgeResult):
                    return second
                ratio = max(ratio, _best_ratio(want, normalize_text(second)))
                evidence.update(fallback_psm=fallback, fallback_read=normalize_text(second))
        elif not want:
            words = [w for w in read.split() if len(w) >= self.options.min_word]
            evidence.update(legible_words=words, min_word=self.options.min_word)
            ratio = 0.0 if words else 1.0
        else:
            ratio = difflib.SequenceMatcher(None, want, read).ratio()
        ok = ratio >= self.min_ratio
        evidence.update(
            ratio=round(ratio, 3),
            min_ratio=self.min_ratio,
            mode="contains" if check.contains is not None else "equals",
        )
        shown = read if len(read) <= 60 else read[:57] + "..."
        return JudgeResult(
            "pass" if ok else "fail", f"read '{shown}' (match {ratio:.2f})", evidence
        )
