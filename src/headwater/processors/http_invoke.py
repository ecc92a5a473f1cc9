"""InvokeHTTP: call an HTTP endpoint for each FlowFile, route by the status code.

One ``httpx.Client`` per scheduled processor keeps connections alive between calls.
The request FlowFile gets the ``invokehttp.*`` attributes and goes to Original (2xx),
Retry (5xx, penalized), No Retry (anything else) or Failure (no response at all:
refused, timed out, bad URL; penalized). The response body becomes a child FlowFile
(FORK, then FETCH) on Response. The call itself is recorded on the request FlowFile:
SEND when a body went out, REMOTE_INVOCATION otherwise, so the lineage shows the call
even when no response FlowFile is made (NiFi records only the response's FETCH).
"""

from __future__ import annotations

import email.utils
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import (
    DynamicProperty,
    InputRequirement,
    Processor,
    Property,
    Relationship,
    flag,
)
from headwater.services.ssl import StandardSSLContextService
from headwater.units import parse_bool, parse_duration, parse_http_url, parse_non_negative_int

STATUS_CODE = "invokehttp.status.code"
STATUS_MESSAGE = "invokehttp.status.message"
RESPONSE_BODY = "invokehttp.response.body"
REQUEST_URL = "invokehttp.request.url"
REQUEST_DURATION = "invokehttp.request.duration"
RESPONSE_URL = "invokehttp.response.url"
TRANSACTION_ID = "invokehttp.tx.id"
EXCEPTION_CLASS = "invokehttp.java.exception.class"
EXCEPTION_MESSAGE = "invokehttp.java.exception.message"

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CHUNK = 1 << 16


def _method(text: str) -> str:
    method = text.strip().upper()
    if not method or not re.fullmatch(r"[A-Z0-9!#$%&'*+.^_`|~-]+", method):
        raise ValueError(f"expected an HTTP method such as GET or POST, got {text!r}")
    return method


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


class InvokeHTTP(Processor):
    """Sends an HTTP request per FlowFile (its content as the body for POST, PUT and
    PATCH) and routes the FlowFile, and a FlowFile of the response, by status code.

    Dynamic properties are sent as request headers; their values may use Expression
    Language. Input is required: a GenerateFlowFile upstream makes it periodic.
    """

    tags = ("http", "https", "rest", "client")
    input_requirement = InputRequirement.REQUIRED
    dynamic_property = DynamicProperty(
        "A request header: the name is the header, the value its value"
    )

    ORIGINAL = Relationship(
        "Original", "The request FlowFile, after a 2xx response, with the invokehttp.* attributes."
    )
    RESPONSE = Relationship(
        "Response",
        "A FlowFile of the response body (2xx, or any status with Always Output Response).",
    )
    RETRY = Relationship("Retry", "The request FlowFile after a 5xx response; penalized.")
    NO_RETRY = Relationship(
        "No Retry", "The request FlowFile after a 1xx, 3xx or 4xx response: retrying won't help."
    )
    FAILURE = Relationship(
        "Failure",
        "The request FlowFile when no response came (connection refused, timeout, bad URL);"
        " penalized, with invokehttp.java.exception.class and .message.",
    )

    method = Property(
        "HTTP Method",
        "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or any other method;"
        " only POST, PUT and PATCH send a body",
        default="GET",
        required=True,
        expression=True,
        parse=_method,
    )
    url = Property(
        "Remote URL",
        "The URL to call, with scheme, host, port and path",
        required=True,
        expression=True,
        parse=parse_http_url,
    )
    connect_timeout = Property(
        "Connection Timeout",
        "Longest wait to connect to the remote service",
        default="5 secs",
        required=True,
        parse=parse_duration,
    )
    read_timeout = Property(
        "Read Timeout",
        "Longest wait for the response from the remote service",
        default="15 secs",
        required=True,
        parse=parse_duration,
    )
    date_header = Property(
        "Include Date Header",
        "Send an RFC 7231 Date header",
        default="True",
        required=True,
        allowed=("True", "False"),
        parse=parse_bool,
    )
    follow_redirects = Property(
        "Follow Redirects",
        "Follow redirects the remote service sends",
        default="True",
        required=True,
        allowed=("True", "False"),
        parse=parse_bool,
    )
    attributes_to_send = Property(
        "Attributes to Send",
        "Regular expression of attribute names to send as headers (the whole name must match)",
        parse=_pattern,
    )
    user_agent = Property("Useragent", "The User-Agent header to send", expression=True)
    username = Property("Basic Authentication Username", "User name for HTTP Basic authentication")
    password = Property(
        "Basic Authentication Password",
        "Password for HTTP Basic authentication (empty when unset)",
        sensitive=True,
    )
    body_attribute = Property(
        "Put Response Body In Attribute",
        "Put the response body in this attribute of the request FlowFile instead of a"
        " Response FlowFile",
        expression=True,
    )
    max_attribute_length = Property(
        "Max Length To Put In Attribute",
        "Characters of the body kept when it is put in an attribute",
        default="256",
        parse=parse_non_negative_int,
    )
    always_output = flag(
        "Always Output Response",
        "Make a Response FlowFile whatever the status code",
        default="false",
        required=True,
    )
    add_headers_to_request = flag(
        "Add Response Headers to Request",
        "Also add the response headers to the request FlowFile",
        default="false",
        required=True,
    )
    content_type = Property(
        "Content-Type",
        "Content-Type of the body of POST, PUT and PATCH; application/octet-stream when empty",
        default="${mime.type}",
        required=True,
        expression=True,
    )
    send_body = flag(
        "send-message-body",
        "Send the FlowFile content as the body of POST, PUT and PATCH (else an empty body)",
        display_name="Send Message Body",
        default="true",
    )
    chunked = flag(
        "Use Chunked Encoding",
        "Send the body with Transfer-Encoding: chunked instead of a Content-Length",
        default="false",
        required=True,
    )
    penalize_no_retry = flag(
        'Penalize on "No Retry"',
        "Penalize FlowFiles routed to No Retry",
        default="false",
    )
    ssl_context = Property[StandardSSLContextService](
        "SSL Context Service",
        "TLS trust (and a client certificate, for mutual TLS) for https:// URLs",
        service=StandardSSLContextService,
    )
    ignore_content = flag(
        "ignore-response-content",
        "Do not read the response body: Response FlowFiles are empty",
        display_name="Ignore response's content",
        default="false",
    )

    def __init__(self) -> None:
        self._client: httpx.Client | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        connect, read = context[self.connect_timeout], context[self.read_timeout]
        auth = None
        username = context.get(self.username)
        if username:
            password = context.get(self.password) or ""  # the seed's API key: no password
            auth = httpx.BasicAuth(username, password)
        tls = context.get(self.ssl_context)
        self._client = httpx.Client(
            auth=auth,
            verify=tls.create_client_context() if tls is not None else True,
            follow_redirects=context[self.follow_redirects],
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
            trust_env=False,
        )

    def on_stopped(self, context: ProcessContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        ff = session.get()
        if ff is None:
            return
        if self._client is None:
            self.on_scheduled(context)
        assert self._client is not None
        tx_id = str(uuid.uuid4())
        started = time.monotonic()
        url = ""
        try:
            method = context.evaluate(self.method, ff)
            url = context.evaluate(self.url, ff)
            request, sent_body = self._request(context, session, ff, method, url)
            response = self._client.send(request)
            try:
                body = b"" if context[self.ignore_content] else response.read()
            finally:
                response.close()
        except (httpx.HTTPError, httpx.InvalidURL, ProcessException, ValueError) as exc:
            self._fail(context, session, ff, tx_id, exc)
            return
        millis = int((time.monotonic() - started) * 1000)
        if sent_body:
            session.provenance.send(ff, url, millis=millis)
        else:
            session.provenance.invoke_remote(ff, url, details=method, millis=millis)
        self._route(context, session, ff, response, body, url, tx_id, millis)

    def _request(
        self,
        context: ProcessContext,
        session: ProcessSession,
        ff: FlowFile,
        method: str,
        url: str,
    ) -> tuple[httpx.Request, bool]:
        """The request for ``ff`` and whether it carries the FlowFile content."""
        lookup = context.lookup(ff)
        headers: dict[str, str] = {}
        pattern = context.get(self.attributes_to_send)
        if pattern is not None:
            headers.update((k, v) for k, v in ff.attributes.items() if v and pattern.fullmatch(k))
        for name, value in context.dynamic.items():
            text = value.evaluate(lookup)
            if text:
                headers[name] = text
        if context.is_set(self.user_agent):
            agent = context.evaluate(self.user_agent, ff)
            if agent:
                headers["User-Agent"] = agent
        if context[self.date_header]:
            headers["Date"] = email.utils.formatdate(usegmt=True)
        content: bytes | Iterator[bytes] | None = None
        sent_body = False
        if method in BODY_METHODS:
            headers["Content-Type"] = (
                context.evaluate(self.content_type, ff) or "application/octet-stream"
            )
            sent_body = context[self.send_body] and ff.size > 0
            content = _stream(session, ff) if sent_body else iter(())
            if not context[self.chunked]:
                # a Content-Length stops httpx from chunking the stream
                headers["Content-Length"] = str(ff.size if sent_body else 0)
        assert self._client is not None
        return self._client.build_request(method, url, headers=headers, content=content), sent_body

    def _fail(
        self,
        context: ProcessContext,
        session: ProcessSession,
        ff: FlowFile,
        tx_id: str,
        exc: Exception,
    ) -> None:
        kind = type(exc)
        context.logger.warning("routing %s to Failure: %s", ff.uuid, exc)
        ff = session.put_all_attributes(
            ff,
            {
                TRANSACTION_ID: tx_id,
                EXCEPTION_CLASS: f"{kind.__module__}.{kind.__qualname__}",
                EXCEPTION_MESSAGE: str(exc) or kind.__name__,
            },
        )
        session.transfer(session.penalize(ff), self.FAILURE)

    def _route(
        self,
        context: ProcessContext,
        session: ProcessSession,
        ff: FlowFile,
        response: httpx.Response,
        body: bytes,
        url: str,
        tx_id: str,
        millis: int,
    ) -> None:
        code = response.status_code
        success = 200 <= code < 300
        status = {
            STATUS_CODE: str(code),
            STATUS_MESSAGE: response.reason_phrase,
            REQUEST_URL: url,
            REQUEST_DURATION: str(millis),
            RESPONSE_URL: str(response.url),
            TRANSACTION_ID: tx_id,
        }
        headers = _header_attributes(response)
        request_attributes = dict(status)
        if context[self.add_headers_to_request]:
            request_attributes.update(headers)
        key = (
            context.evaluate(self.body_attribute, ff) if context.is_set(self.body_attribute) else ""
        )
        if (key or not success) and body:
            limit = context[self.max_attribute_length]
            text = body.decode(response.encoding or "utf-8", errors="replace")
            request_attributes[key or RESPONSE_BODY] = text[:limit]
        ff = session.put_all_attributes(ff, request_attributes)
        if (success and not key) or context[self.always_output]:
            out = session.create(ff)
            out = session.put_all_attributes(out, {**status, **headers})
            content_type = response.headers.get("Content-Type")
            if content_type:
                out = session.put_attribute(out, "mime.type", content_type)
            if body:
                out = session.write(out, body)
            session.provenance.fetch(out, url, millis=millis)
            session.transfer(out, self.RESPONSE)
        if success:
            session.transfer(ff, self.ORIGINAL)
        elif 500 <= code < 600:
            session.transfer(session.penalize(ff), self.RETRY)
        else:
            if context[self.penalize_no_retry]:
                ff = session.penalize(ff)
            session.transfer(ff, self.NO_RETRY)


def _stream(session: ProcessSession, ff: FlowFile) -> Iterator[bytes]:
    """The content in chunks, so a large FlowFile is never held in memory whole."""
    with session.open_read(ff) as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def _header_attributes(response: httpx.Response) -> dict[str, str]:
    """Response headers by their name as sent; repeated headers joined with ", "."""
    out: dict[str, Any] = {}
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        if not value:
            continue
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out
