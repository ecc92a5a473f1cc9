"""CaptureImage and CameraImageRegistry: the edge device's camera, and how its readings
learn the name of the latest image.

The seed's device saved ``bog_image_<yyyyMMddHHmmss>_<uuid>.jpg`` (and a processed copy,
``bog_image_p_...``) under ``/opt/demo/images`` and put both paths in its sensor
readings (``imgname``, ``imgnamep``), which is how images and readings are joined
later. Here CaptureImage makes the image FlowFiles, and a CameraImageRegistry that
both it and ReadSensors refer to carries the latest names from one to the other: the
camera publishes them once its session has committed, so a reading never names an
image that was rolled back. The registry lives in memory, so after a restart the
readings name no image until the camera's next one.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from headwater.agent.images import OpenCvCamera, as_jpeg, caption, processed_jpeg, synthetic_jpeg
from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem, ProcessException
from headwater.processor import (
    ControllerService,
    InputRequirement,
    Processor,
    Property,
    Relationship,
)
from headwater.units import parse_bool, parse_int, parse_non_negative_int

AUTO, CAMERA, FOLDER, GENERATE = "auto", "camera", "folder", "generate"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class ImageNames(NamedTuple):
    """Paths of an image and of its processed copy (empty when there is none)."""

    imgname: str
    imgnamep: str


class CameraImageRegistry(ControllerService):
    """Holds the latest image a device's camera took, for its readings to name.

    CaptureImage publishes each image's path, and its processed copy's, after its
    session commits; ReadSensors puts the latest into ``imgname`` and ``imgnamep``.
    In memory only: after a restart, readings name no image until the next one.
    """

    tags = ("camera", "image", "device", "agent", "edge")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest = ImageNames("", "")

    def publish(self, names: ImageNames) -> None:
        with self._lock:
            self._latest = names

    def latest(self) -> ImageNames:
        with self._lock:
            return self._latest


def _resolution(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        raise ValueError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}")
    size = int(width), int(height)
    if not (16 <= size[0] <= 8192 and 16 <= size[1] <= 8192):
        raise ValueError(f"expected 16 to 8192 pixels a side, got {text!r}")
    return size


def _quality(text: str) -> int:
    value = parse_int(text)
    if not 1 <= value <= 95:
        raise ValueError(f"expected a JPEG quality from 1 to 95, got {text!r}")
    return value


class CaptureImage(Processor):
    """Takes a camera image as a JPEG named bog_image_<yyyyMMddHHmmss>_<uuid>.jpg.

    Image Source auto uses a camera through OpenCV when ``cv2`` is installed and a camera
    opens, else the Image Folder when set (its images in turn, by name), else draws one
    (a gradient, shapes and the time, with Pillow). The name's time is UTC and its uuid
    is the FlowFile's. With Processed Copy, a grey, contrast-stretched copy named
    bog_image_p_<same>.jpg goes to ``processed`` as a child of the image. Both paths
    (Image Directory plus the name) are published to the Image Registry once committed,
    for ReadSensors to put into imgname and imgnamep.
    """

    tags = ("camera", "image", "jpeg", "opencv", "device", "agent", "edge", "minifi")
    input_requirement = InputRequirement.FORBIDDEN
    default_schedule = "10 sec"

    SUCCESS = Relationship("success", "Each image (image/jpeg).")
    PROCESSED = Relationship("processed", "The processed copy of each image, when made.")

    source = Property(
        "Image Source",
        "auto: camera, else Image Folder when set, else drawn; or only one of them",
        default=AUTO,
        allowed=(AUTO, CAMERA, FOLDER, GENERATE),
    )
    camera_index = Property(
        "Camera Index", "OpenCV's camera number", default="0", parse=parse_non_negative_int
    )
    folder = Property(
        "Image Folder", "Sample images (JPEG, PNG, ...) to take in turn, by name, without a camera"
    )
    resolution = Property(
        "Resolution", "Size of camera and drawn images", default="640x480", parse=_resolution
    )
    directory = Property(
        "Image Directory",
        "Where the device keeps its images: the absolute.path attribute and the folder in"
        " imgname (a PutFile with Directory ${absolute.path} stores them there)",
        default="/opt/demo/images",
    )
    processed = Property(
        "Processed Copy", "Also make the processed copy", default="true", parse=parse_bool
    )
    quality = Property("JPEG Quality", "1 to 95", default="85", parse=_quality)
    seed = Property(
        "Random Seed", "Seed of the drawn images; by default the host name", parse=parse_int
    )
    registry = Property[CameraImageRegistry](
        "Image Registry",
        "Where ReadSensors learns the latest image's name",
        service=CameraImageRegistry,
    )

    def __init__(self) -> None:
        self._camera: OpenCvCamera | None = None
        self._mode = GENERATE
        self._rng = random.Random(0)
        self._host = ""
        self._folder = Path()
        self._last = ""  # the folder image taken last

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        folder = values.get(cls.folder.name, "").strip()
        if values.get(cls.source.name) == FOLDER and not folder:
            return [Problem(f"properties.{cls.folder.name}", "required with Image Source folder")]
        return []

    def on_scheduled(self, context: ProcessContext) -> None:
        wanted = context[self.source]
        self._host = socket.gethostname()
        seed = context.get(self.seed)
        self._rng = random.Random(self._host if seed is None else seed)
        self._camera, why = None, ""
        if wanted in (AUTO, CAMERA):
            width, height = context[self.resolution]
            self._camera, why = OpenCvCamera.open(context[self.camera_index], width, height)
            if self._camera is None and wanted == CAMERA:
                raise ProcessException(f"Image Source is camera, but {why}")
        folder_text: str = (context.get(self.folder) or "").strip()
        if self._camera is not None:
            self._mode = CAMERA
        elif wanted == FOLDER or (wanted == AUTO and folder_text):
            self._mode = FOLDER
            self._folder = Path(folder_text)
            if not self._folder.is_dir():
                raise ProcessException(f"Image Folder {folder_text!r} is not a directory")
            self._last = context.state.get().get("last", "")
        else:
            self._mode = GENERATE
        if why and wanted == AUTO:
            context.logger.info("%s: images from %s", why, self._mode)

    def on_stopped(self, context: ProcessContext) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        now = time.time()
        taken = self._take(context, now)
        if taken is None:
            context.yield_()
            return
        jpeg, width, height, extra = taken
        ff = session.create()
        key = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(now))}_{ff.uuid}"
        directory = context[self.directory].rstrip("/") + "/"
        name = f"bog_image_{key}.jpg"
        attributes = {
            "filename": name,
            "absolute.path": directory,
            "mime.type": "image/jpeg",
            "image.source": self._mode if self._mode != GENERATE else "generated",
            "image.simulated": "false" if self._mode == CAMERA else "true",
            "image.width": str(width),
            "image.height": str(height),
            **extra,
        }
        ff = session.put_all_attributes(session.write(ff, jpeg), attributes)
        session.transfer(ff, self.SUCCESS)
        names = ImageNames(directory + name, "")
        if context[self.processed]:
            copy = session.create(ff)
            copy = session.write(copy, processed_jpeg(jpeg, context[self.quality]))
            namep = f"bog_image_p_{key}.jpg"
            copy = session.put_all_attributes(
                copy, {"filename": namep, "image.processed": "true", "image.original": name}
            )
            session.transfer(copy, self.PROCESSED)
            names = ImageNames(names.imgname, directory + namep)
        session.commit()
        if self._mode == FOLDER:
            context.state.set({"last": self._last})
        registry = context.get(self.registry)
        if registry is not None:
            registry.publish(names)

    def _take(
        self, context: ProcessContext, now: float
    ) -> tuple[bytes, int, int, dict[str, str]] | None:
        quality = context[self.quality]
        if self._camera is not None:
            frame = self._camera.capture(quality)
            if frame is None:
                context.logger.warning("the camera gave no frame; trying again later")
                return None
            return (*frame, {})
        if self._mode == FOLDER:
            return self._from_folder(self._folder, quality, context)
        width, height = context[self.resolution]
        jpeg = synthetic_jpeg(width, height, self._rng, caption(self._host, now), quality)
        return jpeg, width, height, {}

    def _from_folder(
        self, folder: Path, quality: int, context: ProcessContext
    ) -> tuple[bytes, int, int, dict[str, str]] | None:
        try:
            names = sorted(
                p.name
                for p in folder.iterdir()
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
        except OSError as exc:
            context.logger.warning("cannot list Image Folder %s: %s", folder, exc)
            return None
        if not names:
            context.logger.warning("no images in Image Folder %s", folder)
            return None
        name = next((n for n in names if n > self._last), names[0])
        self._last = name
        try:
            jpeg, width, height = as_jpeg((folder / name).read_bytes(), quality)
        except OSError as exc:  # unreadable, or not an image Pillow knows: skip it
            context.logger.warning("skipping %s: %s", folder / name, exc)
            return None
        return jpeg, width, height, {"image.source.file": str(folder / name)}
