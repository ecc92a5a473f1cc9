"""The ImageNet classifier on onnxruntime: images in, the edge format out.

The edge format is the seed's (``image_analytics.json``): ``label_1`` .. ``label_5``,
the first synonym of each ImageNet class, and ``probability_1`` .. ``probability_5``
as ``"%.2f%%"`` (``"3.40%"``), most likely first. The model is EfficientNet-Lite0 as
``headwater models prepare`` exported it (fp32) and quantized it (int8); onnxruntime is
imported here, so only a component that classifies pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from headwater.models.cache import IMAGENET_CLASSIFIER, PreparedModel, find_model
from headwater.models.preprocess import ImageDecodeError, Pixels, decode, to_batch

TOP = 5


def attributes(probabilities: npt.NDArray[np.float32], labels: Sequence[str]) -> dict[str, str]:
    """The top five of one image's probabilities as the edge format's attributes."""
    top = np.argsort(-probabilities, kind="stable")[:TOP]
    out: dict[str, str] = {}
    for rank, index in enumerate(top, start=1):
        out[f"label_{rank}"] = labels[int(index)]
        out[f"probability_{rank}"] = f"{float(probabilities[index]) * 100.0:.2f}%"  # %.2f%%
    return out


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities: npt.NDArray[np.float32] = (shifted / shifted.sum(axis=1, keepdims=True)).astype(
        np.float32
    )
    return probabilities


def session_options(threads: int) -> Any:
    """onnxruntime options for a small device: ``threads`` for one inference (0: one
    per core) and no second pool between operators. The memory arena stays: without it
    a batch of 16 fp32 images ran at half the speed (every activation freshly mapped),
    for 3 MB less after one image and 12 MB less after a batch of 16 (int8)."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class ImageClassifier:
    """EfficientNet-Lite0 (fp32 or int8) with its labels, ready to classify batches."""

    def __init__(self, model: PreparedModel, variant: str = "fp32", threads: int = 1) -> None:
        import onnxruntime as ort

        self.model = model
        self.variant = variant
        self.labels = model.file("labels").read_text().splitlines()
        spec = model.manifest["input"]
        self.layout: str = spec["layout"]
        self.session = ort.InferenceSession(
            os.fspath(model.file(variant)),
            session_options(threads),
            providers=["CPUExecutionProvider"],
        )
        self.input_name: str = self.session.get_inputs()[0].name

    @classmethod
    def open(
        cls, variant: str = "fp32", threads: int = 1, cache: str | os.PathLike[str] | None = None
    ) -> ImageClassifier:
        """The prepared classifier from the cache (ModelNotPrepared says what to run)."""
        return cls(find_model(IMAGENET_CLASSIFIER.name, variant, cache), variant, threads)

    def probabilities(self, images: Sequence[Pixels]) -> npt.NDArray[np.float32]:
        """Class probabilities, one row per decoded image, in one inference call."""
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        (logits,) = self.session.run(None, {self.input_name: to_batch(images, self.layout)})
        return softmax(np.asarray(logits, dtype=np.float32))

    def classify(self, images: Sequence[Pixels]) -> list[dict[str, str]]:
        """The edge format's attributes for each decoded image."""
        return [attributes(row, self.labels) for row in self.probabilities(images)]

    def classify_bytes(self, contents: Sequence[bytes]) -> list[dict[str, str] | str]:
        """For each encoded image, its attributes, or the reason it could not be read.
        The readable ones go through the model together."""
        decoded: list[Pixels] = []
        results: list[dict[str, str] | str] = []
        where: list[int] = []
        for index, data in enumerate(contents):
            try:
                decoded.append(decode(data))
                where.append(index)
                results.append("")
            except ImageDecodeError as exc:
                results.append(str(exc))
        for index, found in zip(where, self.classify(decoded), strict=True):
            results[index] = found
        return results
