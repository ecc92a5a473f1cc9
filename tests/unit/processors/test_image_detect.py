"""DetectObjects: the COCO detector in a TestRunner, attributes or content, failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater.models.testing import prepared_cache
from headwater.processors.image_detect import DetectObjects
from headwater.testing import TestRunner


@pytest.fixture(scope="module")
def model_cache() -> Path:
    return prepared_cache()


def bus() -> bytes:
    from headwater.models.prepare_coco import sample

    return sample("bus.jpg").read_bytes()


def test_an_image_gets_its_objects_as_attributes(model_cache: Path) -> None:
    with TestRunner(DetectObjects, {"Model Cache": str(model_cache)}) as runner:
        runner.enqueue(bus(), filename="bus.jpg")
        runner.enqueue(b"not an image", filename="notes.txt")
        runner.run()
        (found,) = runner.transferred(DetectObjects.SUCCESS)
        assert found.content == bus()
        assert found.attributes["class1"] == "person"
        assert float(found.attributes["pct1"]) > 90
        objects = found.attributes["objects"].split(",")
        assert objects.count("person") >= 3 and "bus" in objects
        assert found.attributes["object.count"] == str(len(objects))
        (failed,) = runner.transferred(DetectObjects.FAILURE)
        assert "not a readable image" in failed.attributes["error.message"]


def test_flowfile_content_holds_the_model_services_answer(model_cache: Path) -> None:
    properties = {"Model Cache": str(model_cache), "Destination": "flowfile-content"}
    with TestRunner(DetectObjects, properties) as runner:
        runner.enqueue(bus())
        runner.run()
        (found,) = runner.transferred(DetectObjects.SUCCESS)
        answer = json.loads(found.content)
        assert answer["class1"] == "person" and answer["shape"] == "(1080, 810, 3)"
        assert {"host", "end", "te", "systemtime", "cpu", "memory"} <= set(answer)
        assert found.attributes["mime.type"] == "application/json"
