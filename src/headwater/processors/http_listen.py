"""ListenHTTP: an HTTP server whose POSTs become FlowFiles, each durable before its 200.

The server (``headwater.http.server``) runs on a thread of its own from
``on_scheduled`` to ``on_stopped`` and only parses; each trigger takes every request
waiting, makes one FlowFile per request in one session (RECEIVE with the request URL,
NiFi's ``restlistener.*`` attributes, ``mime.type`` and the matched headers), commits
once (one transaction and fsync for the whole group), and only then lets the server
answer. A failed commit answers 503: no client hears "stored" for data that is not.
The engine triggers ListenHTTP only when requests wait (``has_pending_work``).

With a record reader, a request's body is parsed and written by the record writer
as one FlowFile of records; a body that does not parse is refused with 400 and the
reason, and nothing is stored.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Mapping
from http import HTTPStatus

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem
from headwater.http.server import IngestRequest, IngestServer
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.records import READ_ERRORS
from headwater.services.records.api import RecordReaderFactory, RecordSetWriterFactory
from headwater.services.ssl import NONE, REQUIRED, WANT, StandardSSLContextService
from headwater.units import parse_data_size, parse_int

TAKE_LIMIT = 10_000
"""At most this many requests go into one session."""
AUTO = "AUTO"


def _port(text: str) -> int:
    port = parse_int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"expected a port from 1 to 65535 (0: any free port), got {text!r}")
    return port


def _base_path(text: str) -> str:
    if text.startswith("/") or text.endswith("/") or re.search(r"[\s?#]", text):
        raise ValueError(
            f"expected a path without leading or trailing '/', spaces, '?' or '#', got {text!r}"
        )
    return text


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


def _return_code(text: str) -> int:
    code = parse_int(text)
    if not 100 <= code <= 599:
        raise ValueError(f"expected an HTTP status code from 100 to 599, got {text!r}")
    return code


def _server_context(service: StandardSSLContextService, client_auth: str) -> ssl.SSLContext:
    if client_auth == AUTO:  # NiFi: a truststore implies REQUIRED
        client_auth = REQUIRED if service.has_truststore else NONE
    return service.create_server_context(client_auth)


class ListenHTTP(Processor):
    """Starts an HTTP server and turns each POST to ``/{Base Path}`` into a FlowFile,
    answered only once the FlowFile is durable. HEAD on the base path answers 200; GET
    ``/{Base Path}/healthcheck`` (or ``/healthcheck``) answers "OK"; other methods get
    405, other paths 404, bodies over Max Request Size 413. With an SSL Context Service
    it serves HTTPS; a client certificate's DNs must match the Authorized DN Patterns
    (403 otherwise) and show in ``restlistener.remote.user.dn`` and ``.issuer.dn``.

    headwater additions to NiFi's properties: Listening Host (the bind address,
    127.0.0.1 unless told otherwise) and Max Request Size (bodies are held in memory
    until committed). Listening Port 0 binds any free port.
    """

    tags = ("ingest", "http", "https", "rest", "listen")
    input_requirement = InputRequirement.FORBIDDEN

    SUCCESS = Relationship("success", "Relationship for successfully received FlowFiles")

    base_path = Property(
        "Base Path",
        "Base path for incoming connections",
        default="contentListener",
        required=True,
        expression=True,
        parse=_base_path,
    )
    port = Property(
        "Listening Port",
        "The Port to listen on for incoming connections",
        required=True,
        expression=True,
        parse=_port,
    )
    host = Property(
        "Listening Host",
        "The address to bind: 127.0.0.1 for this machine only, 0.0.0.0 for every interface",
        default="127.0.0.1",
        required=True,
        expression=True,
    )
    health_check_port = Property(
        "health-check-port",
        "Another port answering only GET and HEAD on /{Base Path}/healthcheck; with two-way"
        " TLS it asks no client certificate (for load balancers)",
        display_name="Listening Port for Health Check Requests",
        expression=True,
        parse=_port,
    )
    headers_as_attributes = Property(
        "HTTP Headers to receive as Attributes (Regex)",
        "The names of the HTTP headers to pass along as FlowFile attributes",
        parse=_regex,
    )
    max_header_size = Property(
        "Request Header Maximum Size",
        "The largest request header accepted; larger ones get 431",
        default="8 KB",
        required=True,
        parse=parse_data_size,
    )
    max_request_size = Property(
        "Max Request Size",
        "The largest request body accepted; larger ones get 413",
        default="10 MB",
        required=True,
        parse=parse_data_size,
    )
    return_code = Property(
        "Return Code",
        "The HTTP return code returned after every HTTP call",
        default="200",
        parse=_return_code,
    )
    ssl_service = Property[StandardSSLContextService](
        "SSL Context Service",
        "SSL Context Service enables support for HTTPS",
        service=StandardSSLContextService,
    )
    client_auth = Property(
        "client-authentication",
        "Client certificates over TLS: AUTO is REQUIRED when the SSL Context Service has a"
        " truststore, else NONE; WANT asks for one, REQUIRED refuses clients without one",
        display_name="Client Authentication",
        default=AUTO,
        allowed=(AUTO, WANT, REQUIRED, NONE),
    )
    subject_pattern = Property(
        "Authorized DN Pattern",
        "A client certificate's subject DN must match this, or requests get 403",
        display_name="Authorized Subject DN Pattern",
        default=".*",
        required=True,
        parse=_regex,
    )
    issuer_pattern = Property(
        "authorized-issuer-dn-pattern",
        "A client certificate's issuer DN must match this, or requests get 403",
        display_name="Authorized Issuer DN Pattern",
        default=".*",
        parse=_regex,
    )
    record_reader = Property[RecordReaderFactory](
        "record-reader",
        "Parses each request body into records; a body that does not parse gets 400",
        display_name="Record Reader",
        service=RecordReaderFactory,
    )
    record_writer = Property[RecordSetWriterFactory](
        "record-writer",
        "Writes the records of each request (required with a Record Reader)",
        display_name="Record Writer",
        service=RecordSetWriterFactory,
    )

    def __init__(self) -> None:
        self._server: IngestServer | None = None
        self._wake: Callable[[], None] | None = None
        self._header_names: dict[bytes, str | None] = {}
        self._pattern: re.Pattern[str] | None = None
        self._return_code = 200
        self._reader: RecordReaderFactory | None = None
        self._writer: RecordSetWriterFactory | None = None

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        problems = []
        if values.get(cls.record_reader.name) and not values.get(cls.record_writer.name):
            problems.append(
                Problem(f"properties.{cls.record_writer.name}", "is required with a Record Reader")
            )
        health = values.get(cls.health_check_port.name)
        if health and health == values.get(cls.port.name) and health != "0":
            problems.append(
                Problem(
                    f"properties.{cls.health_check_port.name}",
                    "must differ from the Listening Port",
                )
            )
        return problems

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def server(self) -> IngestServer | None:
        """The running server (its ``port`` is the bound port), between schedule and stop."""
        return self._server

    def attach_wake(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def has_pending_work(self) -> bool:
        server = self._server
        return server is not None and server.pending()

    def on_scheduled(self, context: ProcessContext) -> None:
        self._header_names = {}
        self._pattern = context.get(self.headers_as_attributes)
        self._return_code = context[self.return_code]
        self._reader = context.get(self.record_reader)
        self._writer = context.get(self.record_writer)
        tls = context.get(self.ssl_service)
        subject, issuer = context[self.subject_pattern], context.get(self.issuer_pattern)
        server = IngestServer(
            host=context[self.host],
            port=context[self.port],
            base_path=context[self.base_path],
            max_body_size=context[self.max_request_size],
            max_header_size=context[self.max_header_size],
            ssl_context=_server_context(tls, context[self.client_auth]) if tls else None,
            health_check_port=context.get(self.health_check_port),
            health_ssl_context=tls.create_server_context(NONE) if tls else None,
            on_arrival=self._wake,
            authorized=lambda dn, by: bool(
                subject.fullmatch(dn) and (issuer is None or issuer.fullmatch(by))
            ),
            name=f"headwater-listen-{context.id}",
        )
        server.start()
        self._server = server
        context.logger.info(
            "%s listening on %s://%s:%d%s",
            context.id,
            server.scheme,
            server.host,
            server.port,
            server.ingest_path.decode(),
        )

    def on_stopped(self, context: ProcessContext) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    # -- receiving -----------------------------------------------------------------------

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        server = self._server
        if server is None:
            return
        requests = server.take(TAKE_LIMIT)
        if not requests:
            return
        try:
            for request in requests:
                self._receive(session, server, request)
            session.commit()
        except BaseException:
            for request in requests:
                request.status = HTTPStatus.SERVICE_UNAVAILABLE
                request.reason = "could not store the request; try again"
            raise
        finally:
            server.complete(requests)

    def _receive(
        self, session: ProcessSession, server: IngestServer, request: IngestRequest
    ) -> None:
        path = request.target.split("?", 1)[0]
        attributes = {
            "restlistener.remote.source.host": request.client_host,
            "restlistener.request.uri": path,
            "restlistener.remote.user.dn": request.subject_dn or "none",
        }
        if request.issuer_dn is not None:
            attributes["restlistener.remote.issuer.dn"] = request.issuer_dn
        if request.content_type:
            attributes["mime.type"] = request.content_type
        if self._pattern is not None:
            self._matching_headers(request, attributes)
        body = request.body
        if self._reader is not None and self._writer is not None:
            try:
                table = self._reader.read(body, attributes)
                body = self._writer.write(table, attributes)
            except READ_ERRORS as exc:
                request.status = HTTPStatus.BAD_REQUEST
                request.reason = f"could not read the records: {exc}"
                return
            attributes.update(self._writer.attributes_for(table, attributes))
        ff = session.put_all_attributes(session.create(), attributes)
        if body:
            ff = session.write(ff, body)
        host = request.host or f"{server.host}:{server.port}"
        session.provenance.receive(
            ff,
            f"{server.scheme}://{host}{path}",
            details=f"Remote DN={request.subject_dn or 'none'}",
            millis=request.millis,
        )
        session.transfer(ff, self.SUCCESS)
        request.status = self._return_code

    def _matching_headers(self, request: IngestRequest, attributes: dict[str, str]) -> None:
        """Headers whose names the regex matches, each name's verdict computed once."""
        names, pattern = self._header_names, self._pattern
        assert pattern is not None
        for raw, value in request.headers:
            name = names.get(raw, "")
            if name == "":
                text = raw.decode("latin-1")
                name = names[raw] = text if pattern.fullmatch(text) else None
                if len(names) > 10_000:
                    names.clear()
            if name is not None:
                attributes[name] = value.decode("latin-1")
