"""The UI's static files under ``/ui/`` (no token: they hold no data) and ``/`` sending
browsers there. Every data call the UI makes goes to ``/api/v1`` with the token."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.staticfiles import PathLike
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"
UI_PATH = "/ui"


class _UiFiles(StaticFiles):
    """Static files a browser revalidates (ETag) rather than caching blindly, so a new
    hub's UI is seen at once."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_ui(app: FastAPI) -> None:
    """Serve the UI at ``/ui/`` and redirect ``/`` and ``/ui`` to it."""

    async def to_ui() -> RedirectResponse:
        return RedirectResponse(f"{UI_PATH}/", status_code=307)

    app.add_api_route("/", to_ui, include_in_schema=False)
    app.add_api_route(UI_PATH, to_ui, include_in_schema=False)
    app.mount(UI_PATH, _UiFiles(directory=STATIC, html=True), name="ui")
