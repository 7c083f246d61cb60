"""Image measurements shared by the judges that compare pixels (and by the test fakes).

* `align`: a canvas brought into a reference image's frame (`ALIGNMENT_RULE`);
* `changed_mask`, `psnr`, `ssim_map`: how two aligned images differ, per pixel;
* `colorful_share`: how much of an image has colour (the grayscale test).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "ALIGNMENT_RULE",
    "GRAY_MAX_COLORFUL",
    "GRAY_SATURATION",
    "align",
    "changed_mask",
    "colorful_share",
    "psnr",
    "ssim_map",
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


def ssim_map(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Per-pixel SSIM of two RGB images of one size, on luma (Gaussian window, sigma 1.5)."""
    weights = np.array([0.299, 0.587, 0.114])
    x = a.astype(np.float64) @ weights
    y = b.astype(np.float64) @ weights
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
