"""DetectObjects: the seed's hub-side model, a COCO YOLO detector, in process.

In the seed the hub posted each image's URL to a YOLO detector deployed on CDSW and
kept ``class1`` (the most confident detection) and ``pct1`` for a QueryRecord
(``class1='cat' OR class1='person'``). ``headwater models serve`` answers those calls;
this processor runs the same model (YOLOv4-tiny, prepared by ``headwater models
prepare``) inside the flow when no server is wanted: the image stays the content and
gains ``class1``, ``pct1``, ``object.count`` and ``objects`` as attributes, or, with
``Destination`` set to ``flowfile-content``, the content becomes the model service's
JSON answer (the seed's fields plus every detection).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headwater.models.cache import COCO_DETECTOR
from headwater.processor import Property
from headwater.processors.image_model import AbstractImageModel, Result


class DetectObjects(AbstractImageModel):
    """Finds COCO objects (people, cats, buses, ... 80 classes) in each image with
    YOLOv4-tiny on onnxruntime; adds ``class1`` and ``pct1`` (the most confident
    detection and its score in percent), ``object.count`` and ``objects`` (the classes
    found, most confident first, comma separated)."""

    tags = ("image", "object detection", "coco", "yolo", "onnx", "machine learning")
    counter = "Images looked at"

    model = Property(
        "Model",
        "The variant of the prepared detector",
        default="fp32",
        required=True,
        allowed=COCO_DETECTOR.variants,
    )

    def open_model(self, variant: str, threads: int, cache: str | None) -> Any:
        from headwater.models.detector import ObjectDetector

        return ObjectDetector.open(variant, threads, cache)

    def infer(self, model: Any, images: Sequence[bytes]) -> list[Result]:
        results: list[Result] = model.detect_bytes(images)
        return results

    def attributes(self, result: dict[str, Any]) -> dict[str, str]:
        classes = [d["class"] for d in result["detections"]]
        return {
            "class1": str(result["class1"]),
            "pct1": f"{result['pct1']:.2f}",
            "object.count": str(len(classes)),
            "objects": ",".join(classes),
        }
