"""DetectObjects: the seed's hub-side model, a COCO YOLO detector, in process.

In the seed the hub posted each image's URL to a YOLO detector deployed on CDSW and
kept ``class1`` (the most confident detection) and ``pct1`` for a QueryRecord
(``class1='cat' OR class1='person'``). ``headwater models serve`` answers those calls;
this processor runs the same model (YOLOv4-tiny, prepared by ``headwater models
prepare``) inside the flow when no server is wanted: the image stays the content and
gains ``class1``, ``pct1``, ``object.count`` and ``objects`` as attributes, or, with
``Destination`` set to ``flowfile-content``, the content becomes the model service's
JSON answer (the seed's fields plus every detection).

Nothing heavy is imported until the processor is scheduled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.models.cache import COCO_DETECTOR, ModelNotPrepared
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_non_negative_int, parse_positive_int

if TYPE_CHECKING:
    from headwater.models.detector import ObjectDetector

ATTRIBUTE, CONTENT = "flowfile-attribute", "flowfile-content"


class DetectObjects(Processor):
    """Finds COCO objects (people, cats, buses, ... 80 classes) in each image with
    YOLOv4-tiny on onnxruntime; adds ``class1`` and ``pct1`` (the most confident
    detection and its score in percent), ``object.count`` and ``objects`` (the classes
    found, most confident first, comma separated)."""

    tags = ("image", "object detection", "coco", "yolo", "onnx", "machine learning")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Images looked at (with or without objects found).")
    FAILURE = Relationship(
        "failure", "Content that is not a readable image (reason in error.message)."
    )

    model = Property(
        "Model",
        "The variant of the prepared detector",
        default="fp32",
        required=True,
        allowed=COCO_DETECTOR.variants,
    )
    destination = Property(
        "Destination",
        "flowfile-attribute keeps the image and adds the attributes; flowfile-content "
        "replaces the content with the detections as JSON (the models service's answer)",
        default=ATTRIBUTE,
        required=True,
        allowed=(ATTRIBUTE, CONTENT),
    )
    batch_size = Property(
        "Batch Size",
        "The most images detected together, in one inference call",
        default="4",
        required=True,
        parse=parse_positive_int,
    )
    threads = Property(
        "Inference Threads",
        "Threads onnxruntime uses for one inference call; 0: one per core",
        default="1",
        required=True,
        parse=parse_non_negative_int,
    )
    cache = Property(
        "Model Cache",
        "The folder of prepared models; when unset, $HEADWATER_MODELS, else "
        "~/.cache/headwater/models",
    )

    def __init__(self) -> None:
        self._detector: ObjectDetector | None = None
        self._as_content = False

    def on_scheduled(self, context: ProcessContext) -> None:
        try:
            from headwater.models.detector import ObjectDetector
        except ImportError as exc:
            raise ModelNotPrepared(
                f"DetectObjects needs onnxruntime, numpy and Pillow ({exc}): "
                "pip install 'headwater[models]', then run `headwater models prepare`"
            ) from exc
        self._detector = ObjectDetector.open(
            context[self.model], context[self.threads], context.get(self.cache)
        )
        self._as_content = context[self.destination] == CONTENT

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        detector = self._detector
        assert detector is not None, "on_scheduled has not run"
        flowfiles = session.get_batch(context[self.batch_size])
        if not flowfiles:
            return
        results = detector.detect_bytes(session.read_many(flowfiles))
        for flowfile, result in zip(flowfiles, results, strict=True):
            if isinstance(result, str):
                failed = session.put_attribute(flowfile, "error.message", result)
                session.transfer(failed, self.FAILURE)
                continue
            classes = [d["class"] for d in result["detections"]]
            found = session.put_all_attributes(
                flowfile,
                {
                    "class1": str(result["class1"]),
                    "pct1": f"{result['pct1']:.2f}",
                    "object.count": str(len(classes)),
                    "objects": ",".join(classes),
                },
            )
            if self._as_content:
                found = session.write(found, orjson.dumps(result))
                found = session.put_attribute(found, "mime.type", "application/json")
            session.transfer(found, self.SUCCESS)
        session.adjust_counter("Images looked at", sum(isinstance(r, dict) for r in results))

    def on_stopped(self, context: ProcessContext) -> None:
        self._detector = None
