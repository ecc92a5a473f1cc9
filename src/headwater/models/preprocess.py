"""Image bytes to the classifier's input, with Pillow and numpy (DESIGN.md §7).

EfficientNet-Lite0 was trained on RGB images resized so the short side is 256, centre
cropped to 224 x 224, and scaled as ``(x - 127) / 128``. ``decode`` does the first
three on one image (and can fail on it alone); ``to_batch`` does the scaling on many
at once, so a trigger's images reach onnxruntime as one array.

A large JPEG is decoded at a reduced scale (``Image.draft``: the JPEG decoder skips
detail a 256-pixel side cannot show), which makes a camera's 5-megapixel frame several
times cheaper to decode; the result is still resized to a short side of 256 exactly.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

SHORT_SIDE = 256
CROP = 224
MEAN = 127.0
SCALE = 128.0

Pixels = npt.NDArray[np.uint8]
"""One image after decode: CROP x CROP x 3, RGB, uint8."""


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can read."""


def decode(data: bytes) -> Pixels:
    """RGB, short side 256, centre crop 224: an HWC uint8 array."""
    if not data:
        raise ImageDecodeError("the content is empty, not an image")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            ratio = SHORT_SIDE / min(width, height)
            target = (max(SHORT_SIDE, round(width * ratio)), max(SHORT_SIDE, round(height * ratio)))
            if opened.format == "JPEG":
                opened.draft("RGB", target)
            image = ImageOps.exif_transpose(opened).convert("RGB")
            return crop(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"not a readable image: {exc}") from exc


def crop(image: Image.Image) -> Pixels:
    """Resize an RGB image to a short side of 256, then cut out the centre 224 x 224."""
    width, height = image.size
    ratio = SHORT_SIDE / min(width, height)
    size = (max(SHORT_SIDE, round(width * ratio)), max(SHORT_SIDE, round(height * ratio)))
    if size != image.size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - CROP) // 2, (size[1] - CROP) // 2
    image = image.crop((left, top, left + CROP, top + CROP))
    return np.asarray(image, dtype=np.uint8)


def to_batch(images: Sequence[Pixels], layout: str = "NCHW") -> npt.NDArray[np.float32]:
    """Many decoded images as one float32 batch, scaled ``(x - 127) / 128``."""
    batch = np.stack(images).astype(np.float32)
    batch -= MEAN
    batch /= SCALE
    if layout == "NCHW":
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    return batch
