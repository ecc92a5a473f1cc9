"""Camera images for the edge device: OpenCV when a camera exists, else Pillow.

OpenCV (``cv2``) is not a dependency: a device with a camera installs it, and
``OpenCvCamera.open`` answers None with the reason when it is absent or no camera
opens. Without a camera, images come from a folder or are drawn: a gradient, a few
shapes and the time, so each one differs and the pipeline downstream (classifier,
FTP, joins on ``imgname``) has real JPEGs to carry.
"""

from __future__ import annotations

import importlib
import io
import random
import time
from typing import Any

JPEG_MAGIC = b"\xff\xd8\xff"


class OpenCvCamera:
    """One opened camera (``cv2.VideoCapture``), kept open between captures."""

    def __init__(self, cv2: Any, capture: Any) -> None:
        self._cv2 = cv2
        self._capture = capture

    @classmethod
    def open(cls, index: int, width: int, height: int) -> tuple[OpenCvCamera | None, str]:
        try:
            cv2 = importlib.import_module("cv2")
        except ImportError:
            return None, "OpenCV (cv2) is not installed"
        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            capture.release()
            return None, f"no camera at index {index}"
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        return cls(cv2, capture), ""

    def capture(self, quality: int) -> tuple[bytes, int, int] | None:
        """A JPEG of the current frame with its width and height, or None if none came."""
        ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        ok, buffer = self._cv2.imencode(".jpg", frame, [self._cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            return None
        height, width = frame.shape[:2]
        return bytes(buffer), int(width), int(height)

    def close(self) -> None:
        self._capture.release()


def synthetic_jpeg(
    width: int, height: int, rng: random.Random, caption: str, quality: int
) -> bytes:
    """A drawn picture: a coloured gradient, two to five shapes, and ``caption``."""
    from PIL import Image, ImageDraw, ImageOps

    def colour() -> tuple[int, int, int]:
        return rng.randrange(256), rng.randrange(256), rng.randrange(256)

    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270)))
    image = ImageOps.colorize(ramp.resize((width, height)), colour(), colour())
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 5)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = min(width - 1, x0 + rng.randint(width // 10, width // 3))
        y1 = min(height - 1, y0 + rng.randint(height // 10, height // 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour(), outline=(0, 0, 0))
    draw.rectangle((0, height - 18, width, height), fill=(0, 0, 0))
    draw.text((6, height - 15), caption, fill=(255, 255, 255))
    return _encode(image, quality)


def processed_jpeg(jpeg: bytes, quality: int) -> bytes:
    """The processed copy the seed kept beside each image (``bog_image_p_...``): grey,
    contrast stretched, edges enhanced."""
    from PIL import Image, ImageFilter, ImageOps

    with Image.open(io.BytesIO(jpeg)) as image:
        grey = ImageOps.autocontrast(ImageOps.grayscale(image))
    return _encode(grey.filter(ImageFilter.EDGE_ENHANCE), quality)


def as_jpeg(data: bytes, quality: int) -> tuple[bytes, int, int]:
    """``data`` as a JPEG (a JPEG unchanged; PNG, BMP, GIF, WebP... re-encoded) with its
    width and height. Raises ``OSError`` when Pillow cannot read it."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if data.startswith(JPEG_MAGIC) and image.format == "JPEG":
            return data, width, height
        return _encode(image, quality), width, height


def caption(host: str, when: float) -> str:
    return f"{host} {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(when))} UTC"


def _encode(image: Any, quality: int) -> bytes:
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()
