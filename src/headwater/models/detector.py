"""The COCO detector (YOLOv4-tiny) on onnxruntime: images in, the seed's model fields out.

The seed's hub called a GluonCV YOLO on CDSW that answered ``class1`` and ``pct1`` (the
most confident detection and its score in percent) with the serving host's ``host``,
the image's ``shape``, timings (``end``, ``te``, ``systemtime``) and the machine's
``cpu`` and ``memory`` use; a QueryRecord then kept ``class1='cat' OR
class1='person'``. This answers the same fields, plus every detection (``class``,
``score``, ``box`` as ``[x1, y1, x2, y2]`` in the image's pixels).

Preprocessing is darknet's: RGB stretched to the network's 416 x 416, scaled to [0, 1].
Decoding is YOLO's: sigmoid offsets (``scale_x_y``) plus the cell, exponential sizes
times the anchors, objectness times each class's sigmoid; then greedy NMS per class.
"""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from headwater.models.cache import PreparedModel, find_model
from headwater.models.classifier import session_options
from headwater.models.preprocess import ImageDecodeError

COCO_DETECTOR_NAME = "coco-detector"
SCORE_THRESHOLD = 0.25  # darknet's default
NMS_IOU = 0.45


@dataclass(frozen=True)
class Decoded:
    """One image at the network's size, and the size it came in."""

    pixels: npt.NDArray[np.uint8]  # H x W x 3 RGB at the network's size
    width: int
    height: int


def decode_for(data: bytes, width: int, height: int) -> Decoded:
    if not data:
        raise ImageDecodeError("the content is empty, not an image")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            size = opened.size  # boxes go back to this size, whatever draft decodes
            if opened.format == "JPEG":
                opened.draft("RGB", (width, height))
            image = ImageOps.exif_transpose(opened).convert("RGB")
            if image.size[::-1] == (size[0], size[1]) != size[::-1]:
                size = (size[1], size[0])  # EXIF turned it a quarter
            resized = image.resize((width, height), Image.Resampling.BILINEAR)
            return Decoded(np.asarray(resized, dtype=np.uint8), size[0], size[1])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"not a readable image: {exc}") from exc


def _sigmoid(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (1.0 / (1.0 + np.exp(-values))).astype(np.float32)
    return out


def nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou: float) -> list[int]:
    """Greedy non-maximum suppression: the indices kept, most confident first."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        best = int(order[0])
        kept.append(best)
        rest = order[1:]
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        union = areas[best] + areas[rest] - overlap
        order = rest[overlap / np.maximum(union, 1e-9) <= iou]
    return kept


class ObjectDetector:
    """YOLOv4-tiny (COCO, 80 classes) as ``headwater models prepare`` exported it."""

    def __init__(self, model: PreparedModel, variant: str = "fp32", threads: int = 1) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        self.model = model
        self.labels = model.file("labels").read_text().splitlines()
        spec = model.manifest["input"]
        self.width, self.height = int(spec["width"]), int(spec["height"])
        self.heads: list[dict[str, Any]] = model.manifest["output"]["heads"]
        self.session = ort.InferenceSession(
            os.fspath(model.file(variant)),
            session_options(threads),
            providers=["CPUExecutionProvider"],
        )
        self.host = socket.gethostname()

    @classmethod
    def open(
        cls, variant: str = "fp32", threads: int = 1, cache: str | os.PathLike[str] | None = None
    ) -> ObjectDetector:
        return cls(find_model(COCO_DETECTOR_NAME, variant, cache), variant, threads)

    def detect(self, images: Sequence[Decoded]) -> list[list[dict[str, Any]]]:
        """Every detection of each image, most confident first."""
        if not images:
            return []
        batch = np.stack([d.pixels for d in images]).astype(np.float32).transpose(0, 3, 1, 2)
        batch /= 255.0
        outputs = self.session.run(None, {"images": np.ascontiguousarray(batch)})
        return [self._image(i, d, outputs) for i, d in enumerate(images)]

    def _image(self, index: int, image: Decoded, outputs: list[Any]) -> list[dict[str, Any]]:
        boxes: list[npt.NDArray[np.float32]] = []
        scores: list[npt.NDArray[np.float32]] = []
        classes: list[npt.NDArray[np.intp]] = []
        for head, output in zip(self.heads, outputs, strict=True):
            anchors = np.asarray(head["anchors"], dtype=np.float32)
            _, _, rows, cols = output.shape
            raw = output[index].reshape(len(anchors), 5 + int(head["classes"]), rows, cols)
            objectness = _sigmoid(raw[:, 4])
            class_scores = objectness[:, None] * _sigmoid(raw[:, 5:])
            best = class_scores.argmax(axis=1)
            score = np.take_along_axis(class_scores, best[:, None], axis=1)[:, 0]
            a, y, x = np.nonzero(score >= SCORE_THRESHOLD)
            if a.size == 0:
                continue
            scale = float(head["scale_xy"])
            cx = (_sigmoid(raw[a, 0, y, x]) * scale - 0.5 * (scale - 1) + x) / cols
            cy = (_sigmoid(raw[a, 1, y, x]) * scale - 0.5 * (scale - 1) + y) / rows
            w = np.exp(raw[a, 2, y, x]) * anchors[a, 0] / self.width
            h = np.exp(raw[a, 3, y, x]) * anchors[a, 1] / self.height
            box = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
            boxes.append(box * np.array([image.width, image.height] * 2, dtype=np.float32))
            scores.append(score[a, y, x])
            classes.append(best[a, y, x])
        if not boxes:
            return []
        all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
        all_classes = np.concatenate(classes)
        found: list[dict[str, Any]] = []
        for label in np.unique(all_classes):
            where = np.nonzero(all_classes == label)[0]
            for kept in nms(all_boxes[where], all_scores[where], NMS_IOU):
                i = int(where[kept])
                x1, y1, x2, y2 = (
                    float(np.clip(v, 0, m))
                    for v, m in zip(all_boxes[i], [image.width, image.height] * 2, strict=True)
                )
                found.append(
                    {
                        "class": self.labels[int(label)],
                        "score": round(float(all_scores[i]), 4),
                        "box": [round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)],
                    }
                )
        return sorted(found, key=lambda d: -d["score"])

    def detect_bytes(self, contents: Sequence[bytes]) -> list[dict[str, Any] | str]:
        """The seed's model fields for each encoded image, or why it could not be read."""
        began = time.time()
        decoded: list[Decoded] = []
        where: list[int] = []
        results: list[dict[str, Any] | str] = []
        for index, data in enumerate(contents):
            try:
                decoded.append(decode_for(data, self.width, self.height))
                where.append(index)
                results.append("")
            except ImageDecodeError as exc:
                results.append(str(exc))
        for index, image, detections in zip(where, decoded, self.detect(decoded), strict=True):
            results[index] = self.fields(image, detections, began)
        return results

    def fields(
        self, image: Decoded, detections: list[dict[str, Any]], began: float
    ) -> dict[str, Any]:
        import psutil

        end = time.time()
        top: dict[str, Any] = detections[0] if detections else {"class": "", "score": 0.0}
        return {
            "class1": top["class"],
            "pct1": round(float(top["score"]) * 100.0, 2),
            "host": self.host,
            "shape": str((image.height, image.width, 3)),
            "end": f"{end}",
            "te": f"{end - began}",
            "systemtime": time.strftime("%m/%d/%Y %H:%M:%S", time.localtime(end)),
            "cpu": psutil.cpu_percent(interval=None),
            "memory": psutil.virtual_memory().percent,
            "detections": detections,
        }
