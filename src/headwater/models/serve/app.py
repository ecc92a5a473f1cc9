"""The models service's HTTP API (DESIGN.md §6), a Starlette app over ``ModelRunner``s.

CDSW's: ``POST /api/altus-ds-1/models/call-model`` and ``POST /model`` take
``{"accessKey": ..., "request": {...}}``; the access key names the model; the answer
is ``{"success": true, "response": <what the model returned>}``. Every refusal has
CDSW's envelope too, ``{"success": false, "message": <reason>}``, with a 4xx status
(401: no or unknown access key; 400: not JSON; 413: too large; 422: an image that
cannot be had or read; 429: queue full, with Retry-After), a 500 for an exception in a
user's model (its message included), a 503 for a replica that died and a 504 for one
that overran the model's timeout.

Plain ones: ``POST /v1/models/{name}/predict`` (an image as the body, as multipart
``file``/``image``, or JSON as in call-model's ``request``; an access key, if the model
has any, as ``Authorization: Bearer KEY``), ``GET /v1/models``, ``/health`` (the process
answers), ``/ready`` (every model has a replica up) and ``/metrics`` (Prometheus).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headwater.errors import ApiError
from headwater.models.serve.batching import ModelRunner, Overloaded
from headwater.models.serve.config import ModelSpec, ServeConfig
from headwater.models.serve.inputs import ImageSource
from headwater.models.serve.metrics import ServeMetrics

log = logging.getLogger(__name__)
BODY_SLACK = 64 * 1024  # JSON around a base64 image
UNKNOWN = "-"  # the model label of a request that names no model


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"success": False, "message": message}, status, headers)


class ModelService:
    """The runners, the image source and the metrics that the routes share."""

    def __init__(
        self,
        config: ServeConfig,
        runners: dict[str, ModelRunner],
        metrics: ServeMetrics,
        manifests: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.manifests = manifests or {}  # a built-in model's, by model name
        self.runners = runners
        self.metrics = metrics
        self.images = ImageSource(config.inputs)
        self.keys = config.by_access_key()
        self.max_body = config.inputs.max_bytes * 4 // 3 + BODY_SLACK
        self.started = time.time()

    async def predict(self, spec: ModelSpec, request: Any) -> Any:
        """What the model answers to one request (ApiError when it cannot)."""
        runner = self.runners[spec.name]
        if spec.kind == "builtin":
            with runner.expecting():
                payload = await self.images.image(request)
        else:
            payload = request
        return self._unwrap(await runner.submit(payload))

    async def predict_image(self, spec: ModelSpec, image: bytes) -> Any:
        if len(image) > self.config.inputs.max_bytes:
            raise self.images.too_large()
        return self._unwrap(await self.runners[spec.name].submit(image))

    @staticmethod
    def _unwrap(result: tuple[Any, ...]) -> Any:
        if result[0] == "ok":
            return result[1]
        raise ApiError(int(result[1]), str(result[2]))

    async def body(self, request: Request) -> bytes:
        """The request's body, refused (413) past the limit without reading it all."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise ApiError(
                413, f"the body has {declared} bytes, larger than the limit of {self.max_body}"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise ApiError(413, f"the body is larger than the limit of {self.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def describe(self, spec: ModelSpec) -> dict[str, Any]:
        runner = self.runners[spec.name]
        return {
            "name": spec.name,
            "kind": spec.kind,
            "builtin": spec.builtin or None,
            "variant": spec.variant if spec.kind == "builtin" else None,
            "file": str(spec.file) if spec.file else None,
            "function": spec.function if spec.kind == "python" else None,
            "description": spec.description or self._manifest(spec).get("description", ""),
            "prepared": {
                key: self._manifest(spec)[key]
                for key in ("architecture", "created", "input", "sources")
                if key in self._manifest(spec)
            }
            or None,
            "replicas": [
                {"index": r.index, "pid": r.pid, "loaded": r.loaded, "batches": r.batches}
                for r in runner.replicas
            ],
            "ready": runner.ready,
            "failure": runner.failure,
            "waiting": runner.waiting,
            "batching": {
                "maxBatchSize": spec.batching.max_batch_size,
                "maxWaitMs": spec.batching.max_wait_ms,
                "queueLimit": spec.batching.queue_limit,
            },
            "accessKeys": len(spec.access_keys),
            "timeoutSeconds": spec.timeout,
            "input": "an image (url or base64)" if spec.kind == "builtin" else "JSON arguments",
        }

    def _manifest(self, spec: ModelSpec) -> dict[str, Any]:
        return self.manifests.get(spec.name, {})


def create_app(service: ModelService) -> Starlette:
    """The routes over ``service``; the server starts and stops the runners."""

    def measured(
        endpoint: str, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            began = time.perf_counter()
            try:
                response = await handler(request)
            except Overloaded as exc:
                response = refusal(429, str(exc), {"Retry-After": str(exc.retry_after)})
            except ApiError as exc:
                again = {"Retry-After": "1"} if exc.status == 503 else None  # a restart
                response = refusal(exc.status, str(exc), again)
            except Exception as exc:  # a bug here: answered as JSON, logged, and on we go
                log.exception("models service: %s %s failed", request.method, request.url.path)
                response = refusal(500, f"internal error: {type(exc).__name__}: {exc}")
            model = getattr(request.state, "model", UNKNOWN)
            metrics = service.metrics
            metrics.requests.labels(model, endpoint, str(response.status_code)).inc()
            if response.status_code >= 400:
                metrics.errors.labels(model, _reason(response.status_code)).inc()
            metrics.latency.labels(model).observe(time.perf_counter() - began)
            return response

        return route

    async def call_model(request: Request) -> Response:
        body = await service.body(request)
        try:
            call = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"the body is not JSON: {exc}") from exc
        if not isinstance(call, dict):
            raise ApiError(400, 'the body must be {"accessKey": "...", "request": {...}}')
        key = call.get("accessKey")
        if not isinstance(key, str) or not key:
            raise ApiError(
                401, "no accessKey: every call names its model by the model's access key"
            )
        spec = service.keys.get(key)
        if spec is None:
            raise ApiError(401, "unknown accessKey: no model has this access key")
        request.state.model = spec.name  # the metrics' label from here on
        response = await service.predict(spec, call.get("request", {}))
        return json_response({"success": True, "response": response})

    async def predict(request: Request) -> Response:
        name = request.path_params["name"]
        spec = service.config.models.get(name)
        if spec is None:
            raise ApiError(404, f"no model {name!r}; GET /v1/models lists them")
        request.state.model = spec.name
        _authorize(spec, request)
        return json_response(await _predict_body(spec, request))

    async def _predict_body(spec: ModelSpec, request: Request) -> Any:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            if spec.kind != "builtin":
                raise ApiError(415, f"model {spec.name!r} takes JSON arguments, not a form")
            return await service.predict_image(spec, await _form_image(request))
        with service.runners[spec.name].expecting():
            body = await service.body(request)
        if kind == "application/json" or spec.kind == "python":
            try:
                arguments = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise ApiError(400, f"the body is not JSON: {exc}") from exc
            return await service.predict(spec, arguments)
        return await service.predict_image(spec, body)

    async def _form_image(request: Request) -> bytes:
        async with request.form(max_files=1, max_fields=8, max_part_size=service.max_body) as form:
            for field in ("file", "image"):
                upload = form.get(field)
                if upload is not None and not isinstance(upload, str):
                    data: bytes = await upload.read(service.config.inputs.max_bytes + 1)
                    return data
        raise ApiError(400, "the form has no `file` or `image` part holding the image")

    async def models(request: Request) -> Response:
        return json_response(
            {"models": [service.describe(s) for s in service.config.models.values()]}
        )

    async def health(request: Request) -> Response:
        return json_response(
            {"status": "UP", "uptimeSeconds": round(time.time() - service.started, 1)}
        )

    async def ready(request: Request) -> Response:
        waiting = [name for name, runner in service.runners.items() if not runner.ready]
        if waiting:
            return json_response({"ready": False, "waitingFor": waiting}, 503)
        return json_response({"ready": True})

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=service.metrics.content_type)

    cdsw = measured("call-model", call_model)
    return Starlette(
        routes=[
            Route("/api/altus-ds-1/models/call-model", cdsw, methods=["POST"]),
            Route("/model", cdsw, methods=["POST"]),
            Route("/v1/models/{name}/predict", measured("predict", predict), methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


def _authorize(spec: ModelSpec, request: Request) -> None:
    if not spec.access_keys:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.query_params.get("accessKey", "")
    if not key:
        raise ApiError(401, f"model {spec.name!r} needs an access key: Authorization: Bearer KEY")
    if key not in spec.access_keys:
        raise ApiError(401, f"the access key is not one of model {spec.name!r}'s")


def _reason(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        404: "not_found",
        413: "too_large",
        415: "unsupported",
        422: "unreadable_input",
        429: "overloaded",
        500: "model_error",
        503: "unavailable",
        504: "timeout",
    }.get(status, str(status))
