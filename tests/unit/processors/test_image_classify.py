"""ClassifyImage: real classification in a TestRunner, batching, failure, scheduling."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from headwater.models import ModelNotPrepared
from headwater.models.testing import prepared_cache
from headwater.models.verification import photo
from headwater.processors.image_classify import ClassifyImage
from headwater.testing import TestRunner


@pytest.fixture(scope="session")
def model_cache() -> Path:
    return prepared_cache()


def jpeg(name: str) -> bytes:
    out = io.BytesIO()
    with Image.open(photo(name)) as image:
        image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_an_image_gets_the_labels_as_attributes(model_cache: Path) -> None:
    with TestRunner(ClassifyImage, {"Model Cache": str(model_cache)}) as runner:
        image = jpeg("coffee")
        runner.enqueue(image, filename="bog_image_20190212230221_x.jpg")
        runner.run()
        runner.assert_all_transferred(ClassifyImage.SUCCESS, count=1)
        out = runner.transferred(ClassifyImage.SUCCESS)[0]
        assert out.attributes["label_1"] == "espresso"
        assert out.attributes["probability_1"].endswith("%")
        assert {f"label_{i}" for i in range(1, 6)} <= set(out.attributes)
        assert out.content == image
        assert runner.provenance_types() == ["ATTRIBUTES_MODIFIED"]


def test_a_trigger_classifies_its_images_together_and_fails_the_unreadable(
    model_cache: Path,
) -> None:
    properties = {"Model Cache": str(model_cache), "Model": "int8", "Batch Size": "8"}
    with TestRunner(ClassifyImage, properties) as runner:
        for name in ("coffee", "chelsea", "camera"):
            runner.enqueue(jpeg(name), filename=f"{name}.jpg")
        runner.enqueue(b"\xff\xd8\xff\xe0 truncated", filename="broken.jpg")
        runner.run()
        runner.assert_transferred(ClassifyImage.SUCCESS, 3)
        runner.assert_transferred(ClassifyImage.FAILURE, 1)
        labels = {
            ff.attributes["filename"]: ff.attributes["label_1"]
            for ff in runner.transferred(ClassifyImage.SUCCESS)
        }
        assert labels["coffee.jpg"] == "espresso" and labels["camera.jpg"] == "tripod"
        (failed,) = runner.transferred(ClassifyImage.FAILURE)
        assert "not a readable image" in failed.attributes["error.message"]
        assert "label_1" not in failed.attributes
        assert runner.counter("Images classified") == 3


def test_the_labels_can_replace_the_content_as_json(model_cache: Path) -> None:
    properties = {"Model Cache": str(model_cache), "Destination": "flowfile-content"}
    with TestRunner(ClassifyImage, properties) as runner:
        runner.enqueue(jpeg("camera"))
        runner.run()
        (out,) = runner.transferred(ClassifyImage.SUCCESS)
        document = json.loads(out.content)
        assert document["label_1"] == "tripod" == out.attributes["label_1"]
        assert set(document) == {f"{k}_{i}" for k in ("label", "probability") for i in range(1, 6)}
        assert out.attributes["mime.type"] == "application/json"
        assert runner.provenance_types() == ["CONTENT_MODIFIED"]


def test_an_unprepared_cache_fails_at_schedule_time(tmp_path: Path) -> None:
    with TestRunner(ClassifyImage, {"Model Cache": str(tmp_path)}) as runner:
        runner.enqueue(b"x")
        with pytest.raises(ModelNotPrepared, match="run `headwater models prepare"):
            runner.run()
        assert runner.queue_size() == 1


def test_configuration_is_checked() -> None:
    runner = TestRunner(ClassifyImage, {"Model": "fp16", "Batch Size": "0"})
    runner.assert_invalid("Model", "Batch Size")
    runner.close()


def test_loading_the_processors_does_not_load_onnxruntime() -> None:
    code = (
        "import sys, headwater.processors\n"
        "heavy = {'onnxruntime', 'torch', 'numpy.linalg'} & set(sys.modules)\n"
        "assert 'onnxruntime' not in sys.modules and 'torch' not in sys.modules, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
