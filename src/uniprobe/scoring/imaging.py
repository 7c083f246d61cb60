"""Image measurements shared by the judges that compare pixels (and by the test fakes).

* `align`: a canvas brought into a reference image's frame (`ALIGNMENT_RULE`);
* `changed_mask`, `psnr`, `ssim_map`: how two aligned images differ, per pixel;
* `register`, `match_colors`, `structural_change`: the comparison that survives a
  re-render (the canvas warped onto the reference, its colours fitted to the
  reference's, and only changes of some size and contrast kept);
* `colorful_share`: how much of an image has colour (the grayscale test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "ALIGNMENT_RULE",
    "GRAY_MAX_COLORFUL",
    "GRAY_SATURATION",
    "Registration",
    "align",
    "changed_mask",
    "colorful_share",
    "match_colors",
    "psnr",
    "register",
    "ssim_map",
    "structural_change",
]

ALIGNMENT_RULE = (
    "center-crop to reference aspect (if >1% off), then Lanczos resize to reference size"
)


GRAY_SATURATION = 0.08
"""A pixel is colourful above this HSV saturation (and a value above 0.12)..."""
GRAY_MAX_COLORFUL = 0.003
"""... and an image is grayscale when at most this share of its pixels is colourful."""


def align(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The canvas in the reference's frame (see ALIGNMENT_RULE)."""
    w, h = image.size
    rw, rh = size
    if abs((w / h) / (rw / rh) - 1) > 0.01:
        if w / h > rw / rh:
            nw = round(h * rw / rh)
            image = image.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
        else:
            nh = round(w * rh / rw)
            image = image.crop((0, (h - nh) // 2, w, (h - nh) // 2 + nh))
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def changed_mask(a: NDArray[np.uint8], b: NDArray[np.uint8], threshold: int) -> NDArray[np.bool_]:
    """Where any channel of two same-size RGB arrays differs by more than `threshold`."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return np.asarray(diff > threshold, dtype=bool)


def ssim_map(
    a: NDArray[np.uint8], b: NDArray[np.uint8], dtype: type[np.floating[Any]] = np.float64
) -> NDArray[np.float64]:
    """Per-pixel SSIM of two RGB images of one size, on luma (Gaussian window, sigma 1.5)."""
    weights = np.array([0.299, 0.587, 0.114], dtype=dtype)
    x = a.astype(dtype) @ weights
    y = b.astype(dtype) @ weights
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT))

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return np.asarray(num / den)


def psnr(a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.bool_]) -> float | None:
    """PSNR of the masked pixels (None when the mask is empty; inf when identical)."""
    if not mask.any():
        return None
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2)[mask].mean())
    return float("inf") if mse == 0 else round(10 * np.log10(255.0**2 / mse), 2)


def colorful_share(image: Image.Image, saturation: float = GRAY_SATURATION) -> float:
    """Share of pixels with colour: HSV saturation above `saturation`, value above 0.12."""
    hsv = np.asarray(image.convert("RGB").convert("HSV")).astype(np.float64) / 255.0
    return float(((hsv[..., 1] > saturation) & (hsv[..., 2] > 0.12)).mean())


# --- comparison that survives a re-render --------------------------------------------

_WORK_SIDE = 256
"""Registration runs on copies whose longest side is at most this (speed; sub-pixel
accuracy at the full size is not needed once changes are judged on smoothed images)."""
_MAX_SCALE = 0.15
_MAX_ROTATION = 0.1
_MAX_SHIFT = 0.1
"""A transform is plausible for a re-render when its scale stays within 15%, its rotation
within 0.1 rad and its shift within 10% of the frame; anything else is not a re-render."""


@dataclass(frozen=True)
class Registration:
    """How a canvas was warped onto the reference (recorded in evidence)."""

    method: str
    """ecc-affine, orb-affine, or none (the fixed alignment rule only)."""
    matrix: tuple[tuple[float, ...], ...]
    """2x3 affine from reference to canvas pixels (identity for none)."""
    quality: float | None
    """ECC correlation coefficient, or the ORB inlier share."""
    note: str = ""
    """Why a method was not used, if one failed."""

    def evidence(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "method": self.method,
            "matrix": [list(r) for r in self.matrix],
            "quality": self.quality,
            "note": self.note,
        }


_IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))


def _gray(a: NDArray[np.uint8], scale: float) -> NDArray[np.float32]:
    g = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    if scale != 1:
        g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.asarray(g, dtype=np.float32)


def _plausible(m: NDArray[np.float64], size: tuple[int, int]) -> bool:
    sx, sy = np.hypot(m[0, 0], m[1, 0]), np.hypot(m[0, 1], m[1, 1])
    rotation = abs(np.arctan2(m[1, 0], m[0, 0]))
    return bool(
        abs(sx - 1) <= _MAX_SCALE
        and abs(sy - 1) <= _MAX_SCALE
        and rotation <= _MAX_ROTATION
        and abs(m[0, 2]) <= _MAX_SHIFT * size[0]
        and abs(m[1, 2]) <= _MAX_SHIFT * size[1]
    )


def _ecc(
    a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.bool_], scale: float
) -> tuple[NDArray[np.float64], float]:
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
    ga, gb = _gray(a, scale / 2), _gray(b, scale / 2)
    # start from the shift phase correlation finds, then refine coarse to fine (half, then
    # the working size): from the identity, ECC can land in a sheared local optimum
    (dx, dy), _ = cv2.phaseCorrelate(ga, gb)
    warp = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    cc = 0.0
    for level in (scale / 2, scale):
        if level != scale / 2:
            ga, gb = _gray(a, level), _gray(b, level)
            warp[:, 2] *= 2
        size = (ga.shape[1], ga.shape[0])
        m = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        # the mask marks the compared region, so the edit cannot pull the alignment to itself
        cc, found = cv2.findTransformECC(ga, gb, warp, cv2.MOTION_AFFINE, criteria, m, 5)
        warp = np.asarray(found, dtype=np.float32)
    out = warp.astype(np.float64)
    out[:, 2] /= scale
    return out, float(cc)


def _orb(
    a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], float]:
    orb = cv2.ORB.create(1000)
    ka, da = orb.detectAndCompute(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), mask.astype(np.uint8))
    kb, db = orb.detectAndCompute(cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), None)
    if da is None or db is None or len(ka) < 8 or len(kb) < 8:
        raise ValueError("too few ORB features")
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    if len(matches) < 8:
        raise ValueError(f"only {len(matches)} ORB matches")
    src = np.array([ka[m.queryIdx].pt for m in matches], dtype=np.float32)
    dst = np.array([kb[m.trainIdx].pt for m in matches], dtype=np.float32)
    warp, inliers = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0)
    if warp is None or inliers is None or int(inliers.sum()) < 8:
        raise ValueError("no consistent ORB transform")
    return np.asarray(warp, dtype=np.float64), float(inliers.mean())


def _mad(a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.bool_]) -> float:
    return float(cv2.absdiff(a, b).max(axis=2)[mask].mean())


def register(
    a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.bool_]
) -> tuple[NDArray[np.uint8], NDArray[np.bool_], Registration]:
    """`b` warped onto `a` (same size, RGB): ECC affine, else ORB + RANSAC affine, else as is.

    Only pixels in `mask` steer the estimate. A transform is kept only when it is
    plausible for a re-render (see `_MAX_SCALE`...) and brings `b` closer to `a` on the
    masked pixels than no warp does. Also returns where the warped canvas has content
    (a crop leaves none near the reference's edges: not a change, so not compared).
    """
    h, w = a.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(h, w))
    notes: list[str] = []
    before = _mad(a, b, mask)
    for method in ("ecc-affine", "orb-affine"):
        try:
            warp, quality = _ecc(a, b, mask, scale) if method == "ecc-affine" else _orb(a, b, mask)
        except (cv2.error, ValueError) as exc:
            notes.append(f"{method}: {str(exc).strip().splitlines()[-1][:120]}")
            continue
        if not _plausible(warp, (w, h)):
            notes.append(f"{method}: implausible transform")
            continue
        warped = np.asarray(
            cv2.warpAffine(
                b,
                warp,
                (w, h),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REPLICATE,
            ),
            dtype=np.uint8,
        )
        if _mad(a, warped, mask) > before:
            notes.append(f"{method}: no better than no warp")
            continue
        inside = cv2.warpAffine(
            np.ones((h, w), np.uint8),
            warp,
            (w, h),
            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
            borderValue=0,
        )
        inside = cv2.erode(inside, np.ones((3, 3), np.uint8))
        matrix = tuple(tuple(round(float(v), 5) for v in row) for row in warp)
        registration = Registration(method, matrix, round(quality, 4), "; ".join(notes))
        return np.asarray(warped), inside.astype(bool), registration
    return b, np.ones((h, w), bool), Registration("none", _IDENTITY, None, "; ".join(notes))


_MAX_GAIN = 0.35
_MAX_OFFSET = 48.0
"""A channel's gain must stay within 1 ± this (else only an offset is fitted), and its
offset within ± this (0..255): drift, not a new palette."""


def match_colors(
    a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.bool_]
) -> tuple[NDArray[np.uint8], list[list[float]]]:
    """`b` with each channel mapped onto `a`'s by a gain and an offset fitted on the
    masked pixels (three times, each fit leaving out the fifth of pixels the last one
    explained worst, so a real local change does not bend the line; a linear map cannot
    send one colour cluster anywhere it likes, as a curve could). Returns the image and
    each channel's (gain, offset)."""
    out = np.empty_like(b)
    fits: list[list[float]] = []
    step = max(1, int(mask.sum()) // 10_000)
    levels = np.arange(256, dtype=np.float64)
    for c in range(3):
        x = b[..., c][mask][::step].astype(np.float64)
        y = a[..., c][mask][::step].astype(np.float64)
        valid = (x > 0) & (x < 255)  # a clipped channel says nothing about the drift
        keep = valid
        gain, offset = 1.0, 0.0
        for _ in range(3):
            if keep.sum() < 16 or float(np.std(x[keep])) < 12:
                break  # too little spread to tell a gain: fit the offset alone
            gain, offset = (float(v) for v in np.polyfit(x[keep], y[keep], 1))
            residual = np.abs(gain * x + offset - y)
            keep = valid & (residual <= max(6.0, float(np.quantile(residual[valid], 0.8))))
        if abs(gain - 1) > _MAX_GAIN or keep.sum() < 16 or float(np.std(x[keep])) < 12:
            gain = 1.0
            offset = float(np.median((y - x)[valid])) if valid.any() else 0.0
        offset = float(np.clip(offset, -_MAX_OFFSET, _MAX_OFFSET))
        lut = np.clip(gain * levels + offset + 0.5, 0, 255).astype(np.uint8)
        out[..., c] = lut[b[..., c]]
        fits.append([round(gain, 4), round(offset, 2)])
    return out, fits


def structural_change(
    a: NDArray[np.uint8],
    b: NDArray[np.uint8],
    mask: NDArray[np.bool_],
    *,
    sigma: float,
    color_threshold: int,
    min_ssim: float,
    min_blob: int,
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Where two registered, colour-matched images really differ, and the SSIM map.

    Both are smoothed (Gaussian `sigma`: resampling, JPEG and slight blur disappear); a
    pixel differs when a channel moves by more than `color_threshold` or the local SSIM
    of the smoothed luma falls below `min_ssim`; then only differences at least
    `min_blob` pixels across survive (a morphological opening: the thin seams that
    sub-pixel misregistration leaves along edges go, objects stay)."""
    k = (0, 0)
    sa = np.asarray(cv2.GaussianBlur(a, k, sigma), dtype=np.uint8) if sigma > 0 else a
    sb = np.asarray(cv2.GaussianBlur(b, k, sigma), dtype=np.uint8) if sigma > 0 else b
    ssim = ssim_map(sa, sb, np.float32)
    diff = cv2.absdiff(sa, sb).max(axis=2)
    raw = ((diff > color_threshold) | (ssim < min_ssim)) & mask
    if min_blob > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (min_blob, min_blob))
        raw = cv2.morphologyEx(raw.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
    return np.asarray(raw & mask, dtype=bool), ssim
