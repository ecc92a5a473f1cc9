"""AbstractImageModel: what ClassifyImage and DetectObjects share.

Both take a batch of images per trigger through one inference call of a model that
``headwater models prepare`` put in the cache, add the model's answer as attributes
(or, with ``Destination`` set to ``flowfile-content``, make it the content as JSON),
and send what is not a readable image to ``failure`` with the reason. The model's
code (onnxruntime, numpy, Pillow) is imported when the processor is scheduled, so a
flow that never runs a model does not carry it; scheduling fails, saying what to run,
when the model is not prepared.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.models.cache import ModelNotPrepared
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_non_negative_int, parse_positive_int

ATTRIBUTE, CONTENT = "flowfile-attribute", "flowfile-content"

Result = dict[str, Any] | str
"""A model's answer for one image, or why the image could not be read."""


class AbstractImageModel(Processor):
    """A processor that runs an image model over its FlowFiles, a batch at a time."""

    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Images the model looked at, with its answer.")
    FAILURE = Relationship(
        "failure", "Content that is not a readable image (reason in error.message)."
    )

    model: ClassVar[Property[str]]
    counter: ClassVar[str]
    """The counter of images the model answered for."""

    destination = Property(
        "Destination",
        "flowfile-attribute keeps the image and adds the model's answer as attributes; "
        "flowfile-content also replaces the content with the answer as JSON",
        default=ATTRIBUTE,
        required=True,
        allowed=(ATTRIBUTE, CONTENT),
    )
    batch_size = Property(
        "Batch Size",
        "The most images in one inference call; each holds a few MB of activations while it runs",
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
        self._model: Any = None
        self._as_content = False

    @abstractmethod
    def open_model(self, variant: str, threads: int, cache: str | None) -> Any:
        """The prepared model (importing its code here, not at module import)."""

    @abstractmethod
    def infer(self, model: Any, images: Sequence[bytes]) -> list[Result]:
        """The model's answer for each image."""

    @abstractmethod
    def attributes(self, result: dict[str, Any]) -> dict[str, str]:
        """The attributes an answer adds to its image."""

    def on_scheduled(self, context: ProcessContext) -> None:
        try:
            self._model = self.open_model(
                context[self.model], context[self.threads], context.get(self.cache)
            )
        except ImportError as exc:
            raise ModelNotPrepared(
                f"{self.type_name()} needs onnxruntime, numpy and Pillow ({exc}): "
                "pip install 'headwater[models]', then run `headwater models prepare`"
            ) from exc
        self._as_content = context[self.destination] == CONTENT

    def on_stopped(self, context: ProcessContext) -> None:
        self._model = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        assert self._model is not None, "on_scheduled has not run"
        flowfiles = session.get_batch(context[self.batch_size])
        if not flowfiles:
            return
        results = self.infer(self._model, session.read_many(flowfiles))
        for flowfile, result in zip(flowfiles, results, strict=True):
            if isinstance(result, str):
                failed = session.put_attribute(flowfile, "error.message", result)
                session.transfer(failed, self.FAILURE)
                continue
            answered = session.put_all_attributes(flowfile, self.attributes(result))
            if self._as_content:
                answered = session.write(answered, orjson.dumps(result))
                answered = session.put_attribute(answered, "mime.type", "application/json")
            session.transfer(answered, self.SUCCESS)
        session.adjust_counter(self.counter, sum(isinstance(r, dict) for r in results))
