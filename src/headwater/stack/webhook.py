"""The demo's alert sink: a Slack-style incoming webhook that writes alerts to a file.

The hub's flow sends an alert (PutSlack's body, ``{"text": ...}``) when a reading crosses
a threshold or the detector sees a person. In the demo nothing leaves the machine, so
this sink takes them: ``POST /hooks/alerts`` appends one JSON line per alert to
``<data-dir>/alerts/alerts.jsonl`` (``{"time": epoch millis, "text": ..., "body": the
whole JSON}``) and answers ``ok`` as Slack does; ``GET /hooks/alerts`` lists them, newest
last. A body that is not a JSON object with a ``text`` string is refused with 400.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from headwater.http.asgi import AsgiServer

PATH = "/hooks/alerts"
MAX_BODY = 1024 * 1024


class AlertLog:
    """The alerts file: appended under a lock, read whole (it stays small in a demo)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, body: dict[str, Any]) -> dict[str, Any]:
        entry = {"time": int(time.time() * 1000), "text": body["text"], "body": body}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as stream:
            stream.write(line)
        return entry

    def read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:  # a line cut by a crash: the rest still count
                continue
        return found

    def count(self) -> int:
        return len(self.read())


def create_app(alerts: AlertLog) -> Starlette:
    async def receive(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return PlainTextResponse("body too large (at most 1 MB)", status_code=413)
        try:
            body = json.loads(raw)
        except ValueError:
            return PlainTextResponse("invalid_payload: expected a JSON body", status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return PlainTextResponse(
                'invalid_payload: expected a JSON object with "text" (a string)', status_code=400
            )
        alerts.append(body)
        return PlainTextResponse("ok")

    async def listing(request: Request) -> Response:
        return JSONResponse({"alerts": alerts.read()})

    return Starlette(
        routes=[Route(PATH, receive, methods=["POST"]), Route(PATH, listing, methods=["GET"])]
    )


class AlertSink:
    """The sink served on ``host:port`` (0: a free port) until ``stop``."""

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.alerts = AlertLog(path)
        self._server = AsgiServer(create_app(self.alerts), host, port, name="alert-webhook")

    @property
    def url(self) -> str:
        return self._server.url + PATH

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> AlertSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
