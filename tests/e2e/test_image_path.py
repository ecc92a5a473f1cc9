"""The seed's image branch, whole, in the engine, against real servers on 127.0.0.1:
GetFile (camera images) → PutFTP (pyftpdlib) → PutS3Object (moto) → UpdateAttribute
``url`` → ReplaceText builds the model request ``{"accessKey": ..., "request": {"url":
...}}`` → InvokeHTTP POST /api/altus-ds-1/models/call-model on a model server that
fetches the image by that URL and answers a detection → EvaluateJsonPath ``$.response``
→ QueryRecord ``class1='cat' OR class1='person'`` → PutS3Object.

Each image arrives byte for byte on both servers (fetched back with ftplib and boto3),
the FlowFile carries both URLs, the SEND events carry them as transit URIs, the model
server, given only the URL, reads the very same bytes, and only the detections of cats
and people reach S3.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from flowharness import Hub, RunFlow, poll

pytestmark = pytest.mark.e2e

FTP_USER, FTP_PASSWORD = "camera", "secret"  # the shared server's user (tests/conftest.py)
ACCESS_KEY = "model-access-key"
BUCKET = "e2e-images"
LABELS = ["cat", "dog", "person"]  # what the model "sees" in image 0, 1, 2
QUERY = "SELECT * FROM FLOWFILE WHERE class1='cat' OR class1='person'"
CALL_MODEL = "/api/altus-ds-1/models/call-model"


def jpeg(seed: int) -> bytes:
    """A JPEG-framed blob (SOI, JFIF APP0, EOI) whose body holds every byte value, CR
    and LF among them, so that any text-mode transfer would show."""
    body = bytes(range(256)) * 64 + os.urandom(50_000) + b"\r\n\x00" * seed
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + body + b"\xff\xd9"
    )


def ftp_fetch(url: str) -> bytes:
    """The file at an ``ftp://host:port/path`` URL, read with ftplib."""
    parts = urlsplit(url)
    assert parts.scheme == "ftp" and parts.hostname and parts.port
    out = io.BytesIO()
    with ftplib.FTP() as client:
        client.connect(parts.hostname, parts.port, timeout=10)
        client.login(FTP_USER, FTP_PASSWORD)
        client.retrbinary(f"RETR {parts.path}", out.write)
    return out.getvalue()


class _ModelServer(ThreadingHTTPServer):
    """A CDSW-style model endpoint: reads the image at ``request.url`` and answers
    ``{"success": true, "response": {...}}``: the seed's detector fields, the label
    being the one ``labels`` holds for those bytes, and what it read."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ModelHandler)
        self.requests: list[dict[str, Any]] = []
        self.labels: dict[str, str] = {}  # image sha256 → class1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{CALL_MODEL}"


class _ModelHandler(BaseHTTPRequestHandler):
    server: _ModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            call = json.loads(body)
            self.server.requests.append(call)
            if self.path != CALL_MODEL or call["accessKey"] != ACCESS_KEY:
                raise PermissionError("wrong path or access key")
            image = ftp_fetch(call["request"]["url"])
            digest = hashlib.sha256(image).hexdigest()
            answer = {
                "success": True,
                "response": {
                    "class1": self.server.labels.get(digest, "nothing"),
                    "pct1": 87.5,
                    "host": "cdsw-model",
                    "shape": "(480, 640, 3)",
                    "url": call["request"]["url"],
                    "bytes": len(image),
                    "sha256": digest,
                },
            }
            code = 200
        except Exception as exc:  # the answer says what went wrong
            answer, code = {"success": False, "error": f"{type(exc).__name__}: {exc}"}, 400
        reply = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def model_server() -> Iterator[_ModelServer]:
    server = _ModelServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def image_flow(camera: Path, ftp_port: int, ftp_root: str, s3: str, model: str) -> dict[str, Any]:
    failures = {"from": "", "relationships": ["failure"], "to": "dead-letter"}
    s3_access = {
        "Region": "us-east-1",
        "Access Key": "testing",
        "Secret Key": "testing",
        "Endpoint Override URL": s3,
    }
    return {
        "flow": "images",
        "parameters": {"model_key": ACCESS_KEY},
        "services": {
            "json-reader": {"type": "JsonTreeReader"},
            "json-writer": {"type": "JsonRecordSetWriter"},
        },
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
            "put-s3": {
                "type": "PutS3Object",
                "properties": {
                    **s3_access,
                    "Bucket": BUCKET,
                    "Object Key": "images/${filename}",
                    "Content Type": "image/jpeg",
                },
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
                    "Remote URL": model,
                    "Content-Type": "application/json",
                },
                "auto-terminate": ["Original"],
            },
            "response": {
                "type": "EvaluateJsonPath",
                "properties": {"Destination": "flowfile-content", "response": "$.response"},
            },
            "cats-and-people": {
                "type": "QueryRecord",
                "properties": {
                    "record-reader": "json-reader",
                    "record-writer": "json-writer",
                    "include-zero-record-flowfiles": "false",
                    "catsandpeople": QUERY,
                },
                "auto-terminate": ["original"],
            },
            "put-detections": {
                "type": "PutS3Object",
                "properties": {
                    **s3_access,
                    "Bucket": BUCKET,
                    "Object Key": "detections/${filename}.json",
                },
                "auto-terminate": ["success"],
            },
            "results": {"type": "UpdateAttribute", "enabled": False},
            "dead-letter": {"type": "UpdateAttribute", "enabled": False},
        },
        "connections": [
            {"from": "camera", "relationships": ["success"], "to": "put-ftp"},
            {"from": "put-ftp", "relationships": ["success"], "to": "put-s3"},
            {"from": "put-s3", "relationships": ["success"], "to": "url"},
            {"from": "url", "relationships": ["success"], "to": "model-request"},
            {"from": "model-request", "relationships": ["success"], "to": "call-model"},
            {
                "id": "responses",
                "from": "call-model",
                "relationships": ["Response"],
                "to": "results",
            },
            {"from": "results", "relationships": ["success"], "to": "results"},
            {"from": "call-model", "relationships": ["Response"], "to": "response"},
            {"from": "response", "relationships": ["matched"], "to": "cats-and-people"},
            {"from": "cats-and-people", "relationships": ["catsandpeople"], "to": "put-detections"},
            {
                "id": "response-failed",
                "from": "response",
                "relationships": ["failure", "unmatched"],
                "to": "dead-letter",
            },
            *(
                {**failures, "id": f"{source}-failed", "from": source}
                for source in ("put-ftp", "put-s3", "model-request", "cats-and-people")
            ),
            {**failures, "id": "put-detections-failed", "from": "put-detections"},
            {
                "id": "call-model-failed",
                "from": "call-model",
                "relationships": ["Failure", "Retry", "No Retry"],
                "to": "dead-letter",
            },
            {"from": "dead-letter", "relationships": ["success"], "to": "dead-letter"},
        ],
    }


def dead_letters(hub: Hub) -> dict[str, int]:
    return {c: hub.queued(c) for c in hub.controller.connections if c.endswith("-failed")}


def test_images_to_ftp_and_s3_byte_for_byte_the_model_reads_them_by_url_and_detections_filter(
    run_flow: RunFlow,
    ftp_server: Any,
    moto_endpoint: str,
    s3: Any,
    model_server: _ModelServer,
    tmp_path: Path,
) -> None:
    camera = tmp_path / "camera"
    camera.mkdir()
    images = {
        f"bog_image_2019021304343{i}_e58bee05-142b-4b7e-a28b-fec0305ab12{i}.jpg": jpeg(i)
        for i in range(3)
    }
    for name, data in images.items():
        (camera / name).write_bytes(data)
    for label, data in zip(LABELS, images.values(), strict=True):
        model_server.labels[hashlib.sha256(data).hexdigest()] = label
    (camera / "notes.txt").write_text("not an image")  # left alone by the File Filter
    site = "/image-path"
    (ftp_server.home / site.strip("/")).mkdir()

    hub = run_flow(image_flow(camera, ftp_server.port, site, moto_endpoint, model_server.url))
    poll(lambda: hub.queued("responses") == len(images), what="a model response per image")
    assert dead_letters(hub) == {c: 0 for c in dead_letters(hub)}
    assert sorted(p.name for p in camera.iterdir()) == ["notes.txt"], "GetFile took the images"

    responses = hub.flowfiles("responses")
    assert len(responses) == len(images)
    for listed in responses:
        attributes = listed["attributes"]
        name = attributes["filename"]
        data = images[name]
        ftp_url = f"ftp://127.0.0.1:{ftp_server.port}{site}/images/{name}"
        s3_url = f"{moto_endpoint}/{BUCKET}/images/{name}"
        # The FlowFile carries where the image went.
        assert attributes["ftp.remote.url"] == ftp_url
        assert attributes["url"] == ftp_url
        assert attributes["s3.url"] == s3_url
        assert attributes["s3.bucket"] == BUCKET
        assert attributes["s3.key"] == f"images/{name}"
        assert attributes["invokehttp.status.code"] == "200"
        # Both copies are the image, byte for byte.
        assert ftp_fetch(ftp_url) == data
        stored = s3.get_object(Bucket=BUCKET, Key=f"images/{name}")
        assert stored["Body"].read() == data
        assert stored["ContentType"] == "image/jpeg"
        assert attributes["s3.etag"] == stored["ETag"].strip('"')
        # The model read the same bytes through the URL it was given.
        answer = json.loads(hub.content(listed["uuid"]))
        assert answer["success"] is True
        assert answer["response"]["url"] == ftp_url
        assert answer["response"]["bytes"] == len(data)
        assert answer["response"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert answer["response"]["class1"] == LABELS[list(images).index(name)]

    # Only the cat and the person reach S3, each as the one record the model answered.
    wanted = {n: LABELS[i] for i, n in enumerate(images) if LABELS[i] in ("cat", "person")}
    put_detections = hub.controller.nodes["put-detections"]
    poll(lambda: put_detections.stats.flowfiles_in == len(wanted), what="detections in S3")
    listed_keys = s3.list_objects_v2(Bucket=BUCKET, Prefix="detections/")["Contents"]
    assert sorted(item["Key"] for item in listed_keys) == sorted(
        f"detections/{name}.json" for name in wanted
    )
    for name, label in wanted.items():
        body = s3.get_object(Bucket=BUCKET, Key=f"detections/{name}.json")["Body"].read()
        (record,) = json.loads(body)
        assert record["class1"] == label
        assert record["sha256"] == hashlib.sha256(images[name]).hexdigest()
        assert record["pct1"] == 87.5
    assert dead_letters(hub) == {c: 0 for c in dead_letters(hub)}

    # The model got exactly the seed's request shape, once per image.
    assert sorted(r["request"]["url"] for r in model_server.requests) == sorted(
        f"ftp://127.0.0.1:{ftp_server.port}{site}/images/{name}" for name in images
    )
    assert all(set(r) == {"accessKey", "request"} for r in model_server.requests)

    # SEND events carry the transit URIs: the FTP and S3 URLs, and the model's.
    sends: dict[str, list[str]] = {}
    for event in hub.events(type="SEND"):
        sends.setdefault(event["componentId"], []).append(event["transitUri"])
    assert sorted(sends["put-ftp"]) == sorted(
        f"ftp://127.0.0.1:{ftp_server.port}{site}/images/{name}" for name in images
    )
    assert sorted(sends["put-s3"]) == sorted(
        f"{moto_endpoint}/{BUCKET}/images/{name}" for name in images
    )
    assert sends["call-model"] == [model_server.url] * len(images)
    detections = [f"{moto_endpoint}/{BUCKET}/detections/{name}.json" for name in wanted]
    assert sorted(sends["put-detections"]) == sorted(detections)
    received = hub.events(type="RECEIVE", component="camera")
    assert len(received) == len(images)
