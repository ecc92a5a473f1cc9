"""The images a prepared classifier is checked on, and what they must come out as.

Real photos where a package ships them: scikit-image's ``coffee`` (espresso),
``chelsea`` (a tabby cat) and ``camera`` (a photographer on a tripod), read as files
without importing scikit-image. Where it is not installed, three generated images stand
in; they have no right answer, so only agreement (torch, fp32, int8) is checked on them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from headwater.models.preprocess import Pixels, crop

if TYPE_CHECKING:
    from headwater.models.classifier import ImageClassifier

CATS = frozenset({"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"})
PHOTOS = {
    "coffee": frozenset({"espresso"}),
    "chelsea": CATS,
    "camera": frozenset({"tripod"}),
}


@dataclass(frozen=True)
class VerificationImage:
    pixels: Pixels
    expected: frozenset[str]  # empty: any class, as long as every variant agrees


def photo_folder() -> Path | None:
    """scikit-image's folder of sample photos, if it is installed."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "data"
    return folder if all((folder / f"{name}.png").is_file() for name in PHOTOS) else None


def photo(name: str) -> Path:
    """The path of one of scikit-image's sample photos (``coffee``, ``chelsea``, ...)."""
    folder = photo_folder()
    if folder is None:
        raise FileNotFoundError("scikit-image is not installed: its sample photos are missing")
    for suffix in (".png", ".jpg"):
        if (folder / f"{name}{suffix}").is_file():
            return folder / f"{name}{suffix}"
    raise FileNotFoundError(f"scikit-image has no sample photo {name!r} in {folder}")


def source() -> str:
    if photo_folder() is None:
        return "generated images"
    return f"scikit-image {importlib.metadata.version('scikit-image')} sample photos"


def images() -> dict[str, VerificationImage]:
    folder = photo_folder()
    if folder is not None:
        found = {}
        for name, expected in PHOTOS.items():
            with Image.open(folder / f"{name}.png") as image:
                found[name] = VerificationImage(crop(image.convert("RGB")), expected)
        return found
    from headwater.models.prepare import calibration_images

    generated = calibration_images(3, seed=7)
    return {f"generated-{i}": VerificationImage(p, frozenset()) for i, p in enumerate(generated)}


def top1(classifier: ImageClassifier, names: list[str]) -> dict[str, str]:
    """The most likely label of each named verification image (KeyError: not here)."""
    available = images()
    found = classifier.classify([available[name].pixels for name in names])
    return {name: result["label_1"] for name, result in zip(names, found, strict=True)}
