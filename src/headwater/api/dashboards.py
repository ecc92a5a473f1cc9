"""Dashboards: readings charts, latest images, images joined to readings, counts.

The data comes from a ``headwater.dashboards.Lake`` on ``app.state.lake``, which
``create_app`` sets when the hub is given a lake (``WebOptions.lake``)::

    app.state.lake = Lake(web.lake, images=web.images)
    app.include_router(dashboards.router, prefix=API_PREFIX, dependencies=guarded)

(and ``app.state.lake.close()`` at shutdown, which releases its DuckDB database,
``<lake>/../dashboards.duckdb`` by default). Without a lake on the state, every route
answers 404 saying so.

The routes are plain ``def``: FastAPI runs them on its thread pool, and the Lake gives
each query its own DuckDB cursor, so the page's parallel requests run in parallel.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse

from headwater.api.provenance import Millis
from headwater.api.responses import JsonPassthrough
from headwater.api.schemas import INVALID, ErrorDetail
from headwater.dashboards import Lake
from headwater.dashboards.queries import is_plain_name
from headwater.errors import ApiError

router = APIRouter(prefix="/dashboards", tags=["dashboards"], responses=INVALID)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No lake, or no image of that name."}
}
_IMAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "The JPEG."},
    400: {"model": ErrorDetail, "description": "Not a plain file name."},
    **_NOT_FOUND,
}


def lake_of(request: Request) -> Lake:
    """The Lake ``create_app`` put on the application's state."""
    lake: Lake | None = getattr(request.app.state, "lake", None)
    if lake is None:
        raise ApiError(
            404,
            "the hub has no lake to show: start it with --lake DIR (headwater up and demo"
            " pass their own)",
        )
    return lake


LakeDep = Annotated[Lake, Depends(lake_of)]

Host = Annotated[
    str | None,
    Query(max_length=200, description="Only this device's (its `host`); all when empty."),
]


def _host(host: str | None) -> str | None:
    """An empty ``host`` (the UI's "all devices") means no filter."""
    if host is None or not host.strip():
        return None
    return host.strip()


@router.get("/devices", summary="Devices with readings", responses=_NOT_FOUND)
def devices(lake: LakeDep) -> JsonPassthrough:
    """Each device: its count of readings, first and last time (ms), latest values."""
    return JsonPassthrough({"devices": lake.devices()})


@router.get("/readings", summary="A device's readings over time", responses=_NOT_FOUND)
def readings(
    lake: LakeDep,
    host: Annotated[str, Query(min_length=1, max_length=200, description="The device.")],
    since: Annotated[
        Millis, Query(description="From this time (millis since the epoch or ISO-8601).")
    ] = None,
    until: Annotated[
        Millis, Query(description="Up to this time (millis since the epoch or ISO-8601).")
    ] = None,
    points: Annotated[
        int, Query(ge=1, le=2000, description="At most this many time buckets.")
    ] = 300,
) -> JsonPassthrough:
    """Averages over round time buckets aligned to the epoch (each `time` is its
    bucket's start), at most `points` of them; buckets without readings are left out.
    Without `since` and `until`, all of the device's readings."""
    if since is not None and until is not None and until < since:
        problem = f"is before 'since' ({since}); swap them"
        raise RequestValidationError(
            [{"loc": ("query", "until"), "msg": problem, "type": "value_error", "input": until}]
        )
    return JsonPassthrough(lake.readings(host, since=since, until=until, points=points))


@router.get("/images", summary="The latest images", responses=_NOT_FOUND)
def images(
    lake: LakeDep,
    host: Host = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 24,
) -> JsonPassthrough:
    """Newest first, each with the device's labels and the detector's objects; its
    JPEG at `content`."""
    return JsonPassthrough({"images": lake.images(host=_host(host), limit=limit)})


@router.get(
    "/images/{filename}",
    summary="An image's JPEG",
    response_class=FileResponse,
    responses=_IMAGE,
)
def image(
    lake: LakeDep,
    filename: Annotated[str, Path(description="The image's file name, as `images` lists it.")],
) -> FileResponse:
    if not is_plain_name(filename):
        raise ApiError(
            400,
            f"{filename!r} is not a plain file name: give the image's name as the images"
            " list shows it (bog_image_<time>_<uuid>.jpg), without folders",
        )
    path = lake.image_path(filename)
    if path is None:
        where = lake.images_dir or "no image store (start the hub with --images DIR)"
        raise ApiError(404, f"no image {filename} in {where}")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/joined", summary="Images joined to their readings", responses=_NOT_FOUND)
def joined(
    lake: LakeDep,
    host: Host = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many.")] = 100,
) -> JsonPassthrough:
    """The newest images, each with the reading whose `imgname` names it (nulls when
    that reading is not in the lake yet): `rows` of `columns`."""
    return JsonPassthrough(lake.joined(host=_host(host), limit=limit))


@router.get("/summary", summary="What the lake holds", responses=_NOT_FOUND)
def summary(lake: LakeDep) -> JsonPassthrough:
    """Counts of readings, images, devices and job runs, and the last reading's time."""
    return JsonPassthrough(lake.summary())
