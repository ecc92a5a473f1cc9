"""ClassifyImage: the seed's edge classifier, EfficientNet-Lite0 on onnxruntime.

In the seed, the device's MiNiFi agent ran a TensorFlow Inception processor on each
camera image and kept the image as the FlowFile's content, adding the top five labels
and probabilities as attributes; the hub later wrote those attributes out as JSON
(``image_analytics.json``, with the file and site-to-site attributes beside them). This
processor does the same, on the device or the hub, with the model that ``headwater
models prepare`` put in the cache; with ``Destination`` set to ``flowfile-content`` it
replaces the image with the classification as JSON instead.

A trigger's images go through the model in one inference call. Nothing heavy is
imported until the processor is scheduled, so an agent that never classifies does not
carry onnxruntime; scheduling fails, saying what to run, when the model is not
prepared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.models.cache import IMAGENET_CLASSIFIER, ModelNotPrepared
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_non_negative_int, parse_positive_int

if TYPE_CHECKING:
    from headwater.models.classifier import ImageClassifier

ATTRIBUTE, CONTENT = "flowfile-attribute", "flowfile-content"


class ClassifyImage(Processor):
    """Classifies each image (JPEG, PNG, ...) with an ImageNet model on onnxruntime and
    adds the five most likely labels as ``label_1``..``label_5`` with
    ``probability_1``..``probability_5`` (``"3.40%"``), as the seed's edge classifier did.

    The model is EfficientNet-Lite0, fp32 or int8, prepared once by ``headwater models
    prepare``; images are resized to a short side of 256 and centre cropped to 224.
    """

    tags = ("image", "classification", "imagenet", "onnx", "machine learning", "edge", "agent")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Images classified.")
    FAILURE = Relationship(
        "failure", "Content that is not a readable image (reason in error.message)."
    )

    model = Property(
        "Model",
        "fp32, or int8: about 2.5 times faster and half the size, for weak boards, "
        "with the same top-1 on the verification photos",
        default="fp32",
        required=True,
        allowed=IMAGENET_CLASSIFIER.variants,
    )
    destination = Property(
        "Destination",
        "flowfile-attribute keeps the image and adds the labels as attributes; "
        "flowfile-content also replaces the content with them as JSON",
        default=ATTRIBUTE,
        required=True,
        allowed=(ATTRIBUTE, CONTENT),
    )
    batch_size = Property(
        "Batch Size",
        "The most images classified together, in one inference call; each image in a "
        "batch holds about 3 MB of activations while it runs",
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
        self._classifier: ImageClassifier | None = None
        self._as_content = False

    def on_scheduled(self, context: ProcessContext) -> None:
        try:
            from headwater.models.classifier import ImageClassifier
        except ImportError as exc:
            raise ModelNotPrepared(
                f"ClassifyImage needs onnxruntime, numpy and Pillow ({exc}): "
                "pip install 'headwater[models]', then run `headwater models prepare`"
            ) from exc
        self._classifier = ImageClassifier.open(
            context[self.model], context[self.threads], context.get(self.cache)
        )
        self._as_content = context[self.destination] == CONTENT

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        classifier = self._classifier
        assert classifier is not None, "on_scheduled has not run"
        flowfiles = session.get_batch(context[self.batch_size])
        if not flowfiles:
            return
        results = classifier.classify_bytes(session.read_many(flowfiles))
        for flowfile, result in zip(flowfiles, results, strict=True):
            if isinstance(result, str):
                failed = session.put_attribute(flowfile, "error.message", result)
                session.transfer(failed, self.FAILURE)
                continue
            classified = session.put_all_attributes(flowfile, result)
            if self._as_content:
                classified = session.write(classified, orjson.dumps(result))
                classified = session.put_attribute(classified, "mime.type", "application/json")
            session.transfer(classified, self.SUCCESS)
        session.adjust_counter("Images classified", sum(isinstance(r, dict) for r in results))

    def on_stopped(self, context: ProcessContext) -> None:
        self._classifier = None
