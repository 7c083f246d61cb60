"""Running a transformers zero-shot detector (OWLv2 or Grounding DINO): load once, detect.

The detector judge's engine room. torch and transformers are imported on first use, by
name (type-checking their sources would cost mypy a minute per cold run). Everything
that can go wrong becomes a `DetectorError` whose one-line message names the model and
what to do.

Scores. OWLv2 scores every (box, label) pair on its own: the sigmoid of its logit.
Grounding DINO reads all labels in one prompt ('cat. dog.'); a box counts for a label
when its best token score over the whole prompt reaches the box threshold and its best
score over the label's own tokens reaches the text threshold; that label score is the
box's score.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from uniprobe.backends._local import import_local
from uniprobe.errors import UniprobeError, one_line
from uniprobe.hub import WeightsUnavailable, locate
from uniprobe.scenes.geometry import Box
from uniprobe.scoring.boxes import Found

__all__ = ["PROMPTS", "DetectorError", "ZeroShotDetector"]

PROMPTS = {"owlv2": "a photo of a {}", "grounding-dino": "{}"}
"""Default template of a label's text query, per family."""

_FAMILY_OF_TYPE = {"owlv2": "owlv2", "grounding-dino": "grounding-dino"}
"""Model families by the `model_type` of a transformers config."""


class DetectorError(UniprobeError, ValueError):
    """The detector cannot run: torch or the model is missing, or the model failed.
    The message names the model and what to do."""


def _import_local() -> tuple[ModuleType, ModuleType]:
    torch, transformers = import_local(
        "the detector judge", ("torch", "transformers"), error=DetectorError
    )
    return torch, transformers


def _pixel_boxes(
    centers: NDArray[np.float64], scale: tuple[float, float], size: tuple[int, int]
) -> list[Box | None]:
    """(cx, cy, w, h) relative boxes -> int pixel boxes clipped to the image (None: empty)."""
    sx, sy = scale
    width, height = size
    out: list[Box | None] = []
    for cx, cy, w, h in centers.tolist():
        x0 = max(0, int(np.floor((cx - w / 2) * sx)))
        y0 = max(0, int(np.floor((cy - h / 2) * sy)))
        x1 = min(width, int(np.ceil((cx + w / 2) * sx)))
        y1 = min(height, int(np.ceil((cy + h / 2) * sy)))
        out.append((x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None)
    return out


def _candidates(
    boxes: Sequence[Box | None],
    scores: NDArray[Any],
    labels: Sequence[str],
    keep: NDArray[np.bool_],
) -> list[Found]:
    """Each kept (box, label) pair with a non-empty box."""
    out = []
    for i, j in zip(*np.nonzero(keep), strict=True):
        box = boxes[int(i)]
        if box is not None:
            out.append(Found(box, float(scores[i, j]), labels[int(j)]))
    return out


@dataclass(frozen=True)
class _Loaded:
    family: str
    model: Any
    processor: Any
    torch: ModuleType
    device: str


class ZeroShotDetector:
    """One detector model, loaded on first use (once, thread-safely); callers run one
    detection at a time."""

    def __init__(
        self, model: str, *, family: str = "auto", device: str = "auto", local_files_only: bool
    ) -> None:
        self.model = model
        self.requested_family = family
        self.device = device
        self.local_files_only = local_files_only
        self._loaded: _Loaded | None = None
        self._error: str | None = None
        self._lock = threading.Lock()

    @property
    def family(self) -> str:
        """owlv2 or grounding-dino once loaded; until then the family asked for."""
        return self._loaded.family if self._loaded is not None else self.requested_family

    def detect(
        self,
        image: Image.Image,
        labels: Sequence[str],
        *,
        prompt: str | None,
        threshold: float,
        text_threshold: float,
    ) -> list[Found]:
        """Candidate boxes of the labels in one forward pass, thresholds applied (no NMS).
        `prompt` is the label template (None: the family's default)."""
        loaded = self._model()
        template = prompt or PROMPTS[loaded.family]
        rgb = image.convert("RGB")
        try:
            with loaded.torch.inference_mode():
                if loaded.family == "owlv2":
                    return self._owlv2(loaded, rgb, labels, template, threshold)
                return self._grounding_dino(
                    loaded, rgb, labels, template, threshold, text_threshold
                )
        except DetectorError:
            raise
        except Exception as exc:
            raise DetectorError(
                f"detector '{self.model}' failed on a {image.width}x{image.height} image: "
                f"{one_line(exc)}"
            ) from exc

    def _owlv2(
        self,
        loaded: _Loaded,
        image: Image.Image,
        labels: Sequence[str],
        template: str,
        threshold: float,
    ) -> list[Found]:
        texts = [template.format(label) for label in labels]
        inputs = loaded.processor(
            text=[texts], images=image, return_tensors="pt", truncation=True
        ).to(loaded.device)
        out = loaded.model(**inputs)
        scores = loaded.torch.sigmoid(out.logits[0]).float().cpu().numpy()
        # OWLv2 pads the image to a square (bottom and right): boxes are relative to it.
        side = float(max(image.size))
        boxes = _pixel_boxes(out.pred_boxes[0].float().cpu().numpy(), (side, side), image.size)
        return _candidates(boxes, scores, labels, scores >= threshold)

    def _grounding_dino(
        self,
        loaded: _Loaded,
        image: Image.Image,
        labels: Sequence[str],
        template: str,
        threshold: float,
        text_threshold: float,
    ) -> list[Found]:
        start = template.index("{}")
        phrases = [template.format(label).lower() for label in labels]
        text, spans = "", []
        for label, phrase in zip(labels, phrases, strict=True):
            spans.append((len(text) + start, len(text) + start + len(label)))
            text += phrase + ". "
        text = text.rstrip()
        offsets = loaded.processor.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
        limit = int(loaded.model.config.max_text_len)
        if len(offsets) > limit:
            raise DetectorError(
                f"{len(labels)} labels need {len(offsets)} tokens; Grounding DINO reads "
                f"{limit} at most"
            )
        tokens = [
            [t for t, (a, b) in enumerate(offsets) if b > a and a < end and b > begin]
            for begin, end in spans
        ]
        inputs = loaded.processor(images=image, text=text, return_tensors="pt").to(loaded.device)
        out = loaded.model(**inputs)
        probs = loaded.torch.sigmoid(out.logits[0]).float().cpu().numpy()
        boxes = _pixel_boxes(
            out.pred_boxes[0].float().cpu().numpy(), (image.width, image.height), image.size
        )
        scores = np.stack(
            [probs[:, t].max(axis=1) if t else np.zeros(len(probs)) for t in tokens], 1
        )
        keep = (probs.max(axis=1) >= threshold)[:, None] & (scores >= text_threshold)
        return _candidates(boxes, scores, labels, keep)

    # loading ------------------------------------------------------------------------
    def load(self) -> None:
        """Load the model now (once). A failure is remembered: every later call raises
        the same DetectorError without trying again."""
        self._model()

    def _model(self) -> _Loaded:
        """The loaded model (see `load`)."""
        with self._lock:
            if self._loaded is None:
                if self._error is not None:
                    raise DetectorError(self._error)
                try:
                    self._loaded = self._load()
                except DetectorError as exc:
                    self._error = str(exc)
                    raise
            return self._loaded

    def _load(self) -> _Loaded:
        torch, transformers = _import_local()
        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available():
            raise DetectorError("the detector judge was asked for device cuda, which is absent")
        try:
            weights = locate(
                self.model, config="config.json", local_files_only=self.local_files_only
            )
        except WeightsUnavailable as exc:
            raise DetectorError(
                f"detector model '{self.model}' cannot be loaded: {exc}; or set "
                "judges.detector.model to a model folder"
            ) from exc
        name, kw = weights.source, {"local_files_only": weights.local}
        try:
            family = self.requested_family
            if family == "auto":
                kind = transformers.AutoConfig.from_pretrained(name, **kw).model_type
                if kind not in _FAMILY_OF_TYPE:
                    raise DetectorError(
                        f"detector model '{self.model}' is a '{kind}' model; the detector "
                        "judge runs owlv2 and grounding-dino models"
                    )
                family = _FAMILY_OF_TYPE[kind]
            if family == "owlv2":
                processor = transformers.Owlv2Processor.from_pretrained(name, **kw)
                model = transformers.Owlv2ForObjectDetection.from_pretrained(name, **kw)
            else:
                processor = transformers.AutoProcessor.from_pretrained(name, **kw)
                auto = transformers.AutoModelForZeroShotObjectDetection
                model = auto.from_pretrained(name, **kw)
            model = model.to(device).eval()
        except DetectorError:
            raise
        except Exception as exc:
            raise DetectorError(
                f"detector model '{self.model}' cannot be loaded ({one_line(exc)}): it must "
                "be a transformers OWLv2 or Grounding DINO model with its processor"
            ) from exc
        return _Loaded(family, model, processor, torch, device)

    def close(self) -> None:
        """Drop the model (and free GPU memory it held)."""
        with self._lock:
            loaded, self._loaded = self._loaded, None
        if loaded is not None and loaded.device == "cuda":
            loaded.torch.cuda.empty_cache()
