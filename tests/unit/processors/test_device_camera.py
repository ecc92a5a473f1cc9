"""CaptureImage: bog_image_ names, real JPEGs, folder round-robin, the imgname link."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from headwater.errors import ProcessException
from headwater.processors.device_camera import CameraImageRegistry, CaptureImage
from headwater.testing import MockFlowFile, TestRunner

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
NAME = re.compile(rf"bog_image_(\d{{14}})_({UUID})\.jpg")
SMALL = {"Resolution": "160x120", "Random Seed": "5"}


def decode(flowfile: MockFlowFile) -> Image.Image:
    image = Image.open(io.BytesIO(flowfile.content))
    assert image.format == "JPEG"
    image.load()
    return image


def test_a_drawn_image_is_a_jpeg_named_as_the_seed_names_them() -> None:
    with TestRunner(CaptureImage, {**SMALL, "Processed Copy": "false"}) as runner:
        runner.run(2)
        runner.assert_all_transferred(CaptureImage.SUCCESS, count=2)
        assert runner.provenance_types() == ["CREATE", "CREATE"]
        first, second = runner.transferred(CaptureImage.SUCCESS)
    for out in (first, second):
        match = NAME.fullmatch(out.attributes["filename"])
        assert match, out.attributes["filename"]
        assert match.group(2) == out.uuid
        assert decode(out).size == (160, 120)
        assert out.attributes["mime.type"] == "image/jpeg"
        assert out.attributes["absolute.path"] == "/opt/demo/images/"
        assert out.attributes["image.source"] == "generated"
        assert out.attributes["image.simulated"] == "true"
    assert first.content != second.content


def test_the_processed_copy_is_a_grey_child_named_bog_image_p() -> None:
    with TestRunner(CaptureImage, SMALL) as runner:
        runner.run(1)
        (image,) = runner.transferred(CaptureImage.SUCCESS)
        (copy,) = runner.transferred(CaptureImage.PROCESSED)
        assert runner.provenance_types() == ["CREATE", "FORK"]
    assert copy.attributes["filename"] == image.attributes["filename"].replace(
        "bog_image_", "bog_image_p_"
    )
    assert copy.attributes["image.original"] == image.attributes["filename"]
    assert decode(copy).mode == "L"


def test_the_registry_gets_both_paths_for_the_readings() -> None:
    properties = {**SMALL, "Image Registry": "cam", "Image Directory": "/data/images/"}
    with TestRunner(CaptureImage, properties) as runner:
        registry = runner.add_service("cam", CameraImageRegistry())
        assert isinstance(registry, CameraImageRegistry)
        assert registry.latest() == ("", "")
        runner.run(1)
        (image,) = runner.transferred(CaptureImage.SUCCESS)
        (copy,) = runner.transferred(CaptureImage.PROCESSED)
    assert registry.latest() == (
        "/data/images/" + image.attributes["filename"],
        "/data/images/" + copy.attributes["filename"],
    )


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "samples"
    folder.mkdir()
    Image.new("RGB", (40, 30), "red").save(folder / "a.jpg", format="JPEG")
    Image.new("RGB", (50, 20), "green").save(folder / "b.png", format="PNG")
    Image.new("RGB", (20, 20), "blue").save(folder / "c.jpeg", format="JPEG")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_folder_images_are_taken_in_turn_and_after_a_restart(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    properties = {"Image Source": "folder", "Image Folder": str(folder), "Processed Copy": "false"}
    with TestRunner(CaptureImage, properties) as runner:
        runner.run(2)  # a, b; then stopped, and scheduled again: state says b came last
        out = runner.transferred(CaptureImage.SUCCESS)
        runner.run(2)  # c, a
        out += runner.transferred(CaptureImage.SUCCESS)
    sources = [Path(f.attributes["image.source.file"]).name for f in out]
    assert sources == ["a.jpg", "b.png", "c.jpeg", "a.jpg"]
    assert out[0].content == (folder / "a.jpg").read_bytes()  # a JPEG passes unchanged
    assert decode(out[1]).size == (50, 20)  # a PNG is re-encoded as JPEG
    assert all(NAME.fullmatch(f.attributes["filename"]) for f in out)
    assert {f.attributes["image.source"] for f in out} == {"folder"}


def test_auto_uses_the_folder_when_there_is_no_camera(tmp_path: Path) -> None:
    with TestRunner(CaptureImage, {"Image Folder": str(_folder(tmp_path))}) as runner:
        runner.run(1)
        (out,) = runner.transferred(CaptureImage.SUCCESS)
    assert out.attributes["image.source"] == "folder"


def test_an_empty_folder_yields_and_makes_nothing(tmp_path: Path) -> None:
    properties = {"Image Source": "folder", "Image Folder": str(tmp_path)}
    with TestRunner(CaptureImage, properties) as runner:
        runner.run(1, stop=False)
        assert runner.context.yield_requested
        runner.assert_transferred(CaptureImage.SUCCESS, 0)
        runner.stop()


def test_a_camera_through_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    class FakeCapture:  # the cv2.VideoCapture API the camera uses
        released = False

        def __init__(self, index: int) -> None:
            self.index = index

        def isOpened(self) -> bool:  # OpenCV's name
            return self.index == 0

        def set(self, prop: int, value: int) -> bool:
            return True

        def read(self) -> tuple[bool, Any]:
            return True, np.full((48, 64, 3), 128, dtype=np.uint8)

        def release(self) -> None:
            FakeCapture.released = True

    def imencode(ext: str, frame: Any, params: list[int]) -> tuple[bool, Any]:
        out = io.BytesIO()
        Image.fromarray(frame).save(out, format="JPEG", quality=params[1])
        return True, np.frombuffer(out.getvalue(), dtype=np.uint8)

    cv2 = types.SimpleNamespace(
        VideoCapture=FakeCapture,
        imencode=imencode,
        CAP_PROP_FRAME_WIDTH=3,
        CAP_PROP_FRAME_HEIGHT=4,
        IMWRITE_JPEG_QUALITY=1,
    )
    monkeypatch.setitem(sys.modules, "cv2", cv2)
    with TestRunner(CaptureImage, {"Image Source": "camera"}) as runner:
        runner.run(1)
        (out,) = runner.transferred(CaptureImage.SUCCESS)
    assert FakeCapture.released
    assert decode(out).size == (64, 48)
    assert out.attributes["image.source"] == "camera"
    assert out.attributes["image.simulated"] == "false"
    properties = {"Image Source": "camera", "Camera Index": "1"}
    with (
        TestRunner(CaptureImage, properties) as runner,
        pytest.raises(ProcessException, match="no camera at index 1"),
    ):
        runner.run(1)


def test_camera_without_opencv_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 raises ImportError
    with (
        TestRunner(CaptureImage, {"Image Source": "camera"}) as runner,
        pytest.raises(ProcessException, match=r"OpenCV \(cv2\) is not installed"),
    ):
        runner.run(1)


def test_configuration_is_checked() -> None:
    with TestRunner(CaptureImage, {"Image Source": "folder"}) as runner:
        runner.assert_invalid("Image Folder")
        runner.set_property("Image Source", "generate")
        runner.set_property("Resolution", "big")
        runner.assert_invalid("Resolution")
        runner.set_property("Resolution", "320x240")
        runner.set_property("JPEG Quality", "100")
        runner.assert_invalid("JPEG Quality")
        runner.remove_property("JPEG Quality")
        runner.assert_valid()
