"""ClassifyImage: the seed's edge classifier, EfficientNet-Lite0 on onnxruntime.

In the seed, the device's MiNiFi agent ran a TensorFlow Inception processor on each
camera image and kept the image as the FlowFile's content, adding the top five labels
and probabilities as attributes; the hub later wrote those attributes out as JSON
(``image_analytics.json``, with the file and site-to-site attributes beside them). This
processor does the same, on the device or the hub, with the model that ``headwater
models prepare`` put in the cache; with ``Destination`` set to ``flowfile-content`` it
replaces the image with the classification as JSON instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headwater.models.cache import IMAGENET_CLASSIFIER
from headwater.processor import Property
from headwater.processors.image_model import AbstractImageModel, Result


class ClassifyImage(AbstractImageModel):
    """Classifies each image (JPEG, PNG, ...) with an ImageNet model on onnxruntime and
    adds the five most likely labels as ``label_1``..``label_5`` with
    ``probability_1``..``probability_5`` (``"3.40%"``), as the seed's edge classifier did.

    The model is EfficientNet-Lite0, fp32 or int8, prepared once by ``headwater models
    prepare``; images are resized to a short side of 256 and centre cropped to 224.
    """

    tags = ("image", "classification", "imagenet", "onnx", "machine learning", "edge", "agent")
    counter = "Images classified"

    model = Property(
        "Model",
        "fp32, or int8: about 2.5 times faster and half the size, for weak boards, "
        "with the same top-1 on the verification photos",
        default="fp32",
        required=True,
        allowed=IMAGENET_CLASSIFIER.variants,
    )

    def open_model(self, variant: str, threads: int, cache: str | None) -> Any:
        from headwater.models.classifier import ImageClassifier

        return ImageClassifier.open(variant, threads, cache)

    def infer(self, model: Any, images: Sequence[bytes]) -> list[Result]:
        results: list[Result] = model.classify_bytes(images)
        return results

    def attributes(self, result: dict[str, Any]) -> dict[str, str]:
        return dict(result)  # label_1..5 and probability_1..5, already text
