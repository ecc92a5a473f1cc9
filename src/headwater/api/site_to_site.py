"""Site-to-site over HTTP: NiFi's data-transfer resources for the flow's input ports.

``POST /data-transfer/input-ports/{port}/transactions`` opens a transaction (201, its
URL in ``Location``, its TTL in ``x-nifi-site-to-site-server-transaction-ttl``);
``POST {transaction}/flow-files`` carries the FlowFile stream and is answered with the
CRC32 of what arrived; ``DELETE {transaction}?responseCode=12&checksum=N`` confirms
(answered once the FlowFiles are committed), ``responseCode=15`` cancels, and ``PUT``
renews the TTL. ``GET /site-to-site`` describes the input ports, ``GET
/site-to-site/peers`` this hub as the one peer. Every refusal is a 4xx (503 when the
port cannot take data now) with the reason and, where NiFi has one, its response code.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from headwater.api.dependencies import Controller
from headwater.engine.controller import FlowController
from headwater.engine.node import ProcessorNode, ScheduledState
from headwater.errors import ApiError
from headwater.s2s import protocol
from headwater.s2s.port import InputPort
from headwater.s2s.protocol import ResponseCode, StreamError
from headwater.s2s.transactions import Transaction, TransactionState

router = APIRouter(tags=["site-to-site"])

_TRANSACTIONS = "/data-transfer/input-ports/{port}/transactions"
_TRANSACTION = _TRANSACTIONS + "/{transaction_id}"


def _ports(controller: FlowController) -> list[tuple[ProcessorNode, InputPort]]:
    return [
        (node, node.processor)
        for node in controller.nodes.values()
        if isinstance(node.processor, InputPort)
    ]


def _port(controller: FlowController, name: str) -> tuple[ProcessorNode, InputPort]:
    ports = _ports(controller)
    for node, port in ports:
        if name in (port.name, node.id):
            return node, port
    known = ", ".join(port.name or node.id for node, port in ports) or "none"
    raise ApiError(
        404, f"no input port {name!r} (code {ResponseCode.UNKNOWN_PORT}); ports: {known}"
    )


def _running(controller: FlowController, name: str) -> InputPort:
    node, port = _port(controller, name)
    if node.state is not ScheduledState.RUNNING or port.transactions is None:
        raise ApiError(
            503,
            f"input port {name!r} is {node.state.lower()} (code"
            f" {ResponseCode.PORT_NOT_IN_VALID_STATE}); retry when it runs",
        )
    return port


def _transaction(controller: FlowController, name: str, transaction_id: str) -> Transaction:
    port = _running(controller, name)
    assert port.transactions is not None
    return port.transactions.get(transaction_id)


def _result(code: ResponseCode, message: str, sent: int = 0) -> dict[str, Any]:
    return {"flowFileSent": sent, "responseCode": int(code), "message": message}


@router.get("/site-to-site", summary="The site-to-site details of this hub")
def site_to_site(controller: Controller, request: Request) -> dict[str, Any]:
    return {
        "controller": {
            "id": controller.flow.name,
            "name": controller.flow.name,
            "siteToSiteSecure": request.url.scheme == "https",
            "remoteSiteHttpListeningPort": request.url.port,
            "inputPorts": [
                {"id": port.name or node.id, "name": port.name or node.id, "state": str(node.state)}
                for node, port in _ports(controller)
            ],
            "outputPorts": [],
        }
    }


@router.get("/site-to-site/peers", summary="The hubs a client may send to")
def peers(controller: Controller, request: Request) -> dict[str, Any]:
    return {
        "peers": [
            {
                "hostname": request.url.hostname,
                "port": request.url.port,
                "secure": request.url.scheme == "https",
                "flowFileCount": controller.queued(),
            }
        ]
    }


@router.post(_TRANSACTIONS, status_code=201, summary="Open a transaction on an input port")
def create_transaction(port: str, controller: Controller, request: Request) -> JSONResponse:
    node, _ = _port(controller, port)
    found = _running(controller, port)
    assert found.transactions is not None
    if node.is_back_pressured():
        raise ApiError(
            503,
            f"input port {port!r}: its outgoing queue is full (code"
            f" {ResponseCode.PORTS_DESTINATION_FULL}); retry later",
        )
    transaction = found.transactions.create()
    url = f"{str(request.url).rstrip('/')}/{transaction.id}"
    return JSONResponse(
        _result(ResponseCode.PROPERTIES_OK, f"transaction {transaction.id} open"),
        status_code=201,
        headers={
            "Location": url,
            protocol.LOCATION_URI_INTENT_HEADER: protocol.TRANSACTION_URL_INTENT,
            protocol.SERVER_TTL_HEADER: f"{transaction.ttl:g}",
            protocol.PROTOCOL_VERSION_HEADER: protocol.PROTOCOL_VERSION,
        },
    )


@router.put(_TRANSACTION, summary="Renew a transaction's TTL")
def extend_transaction(port: str, transaction_id: str, controller: Controller) -> dict[str, Any]:
    transaction = _transaction(controller, port, transaction_id)
    return _result(ResponseCode.CONTINUE_TRANSACTION, f"TTL renewed: {transaction.ttl:g} s")


@router.post(_TRANSACTION + "/flow-files", status_code=202, summary="Send the FlowFiles")
async def receive_flowfiles(
    port: str, transaction_id: str, controller: Controller, request: Request
) -> PlainTextResponse:
    """The body is the FlowFile stream; the answer, the CRC32 of the stream as received."""
    found = _running(controller, port)
    assert found.transactions is not None
    transaction = _transaction(controller, port, transaction_id)
    if transaction.state is not TransactionState.OPEN:
        raise ApiError(409, f"transaction {transaction_id} already has its FlowFiles")
    limit = found.max_transaction_size
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        found.transactions.end(transaction, "was refused: too large")
        raise ApiError(413, f"{declared} bytes is over input port {port!r}'s {limit} byte limit")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                found.transactions.end(transaction, "was refused: too large")
                raise ApiError(413, f"the stream is over input port {port!r}'s {limit} byte limit")
            chunks.append(chunk)
    except ClientDisconnect:
        found.transactions.end(transaction, "was abandoned: the client left mid-stream")
        raise ApiError(400, "the client disconnected before the stream ended") from None
    compressed = request.headers.get(protocol.USE_COMPRESSION_HEADER, "").lower() == "true"
    try:
        crc, packets = await run_in_threadpool(_parse, b"".join(chunks), compressed, limit)
    except StreamError as exc:
        found.transactions.end(transaction, "was refused: its stream was malformed")
        raise ApiError(400, f"malformed FlowFile stream: {exc}; nothing was kept") from None
    transaction.packets = packets
    transaction.checksum = crc
    transaction.transit_uri = str(request.url)
    transaction.remote = request.client.host if request.client else "unknown"
    transaction.state = TransactionState.RECEIVED
    return PlainTextResponse(str(transaction.checksum), status_code=202)


def _parse(body: bytes, compressed: bool, limit: int) -> tuple[int, list[protocol.DataPacket]]:
    """The stream's CRC32 and packets (off the event loop: ~10 ms per 10,000 FlowFiles)."""
    data = protocol.decompress(body, limit) if compressed else body
    return protocol.checksum(data), protocol.decode(data)


@router.delete(_TRANSACTION, summary="Confirm (responseCode=12) or cancel (15) a transaction")
async def end_transaction(
    port: str,
    transaction_id: str,
    controller: Controller,
    response_code: Annotated[int, Query(alias="responseCode")],
    checksum: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    found = _running(controller, port)
    assert found.transactions is not None
    transaction = _transaction(controller, port, transaction_id)
    if response_code in (ResponseCode.CANCEL_TRANSACTION, ResponseCode.BAD_CHECKSUM):
        found.transactions.end(transaction, "was cancelled")
        return JSONResponse(_result(ResponseCode.CANCEL_TRANSACTION, "cancelled; nothing kept"))
    if response_code != ResponseCode.CONFIRM_TRANSACTION:
        raise ApiError(
            400,
            f"responseCode {response_code}: expected {int(ResponseCode.CONFIRM_TRANSACTION)}"
            f" to confirm or {int(ResponseCode.CANCEL_TRANSACTION)} to cancel",
        )
    if transaction.state is not TransactionState.RECEIVED or transaction.checksum is None:
        raise ApiError(400, f"transaction {transaction_id} has no FlowFiles to confirm yet")
    if checksum != str(transaction.checksum):
        found.transactions.end(transaction, "was refused: wrong checksum")
        return JSONResponse(
            _result(
                ResponseCode.BAD_CHECKSUM,
                f"checksum {checksum} is not the CRC32 {transaction.checksum} of what arrived;"
                " nothing was kept: send the FlowFiles again in a new transaction",
            ),
            status_code=400,
        )
    count = len(transaction.packets)
    found.confirm(transaction)
    found.transactions.end(transaction, "was confirmed")
    try:
        stored, duplicates = await asyncio.wait_for(
            asyncio.wrap_future(transaction.result), timeout=transaction.ttl
        )
    except TimeoutError:
        raise ApiError(
            503,
            f"input port {port!r} did not commit within {transaction.ttl:g} s; send again"
            " (FlowFiles already stored are recognised)",
        ) from None
    except Exception as exc:
        raise ApiError(
            503, f"input port {port!r} could not commit: {exc}; send the FlowFiles again"
        ) from None
    message = f"{stored} FlowFiles stored"
    if duplicates:
        message += f", {duplicates} already stored before"
    return JSONResponse(_result(ResponseCode.TRANSACTION_FINISHED, message, count))
