"""PutSlack and PublishSlack: alerts to a Slack channel, by incoming webhook or Web API.

Slack answers a burst with 429 and a ``Retry-After`` header. As NiFi's PublishSlack
does, the FlowFile then goes to ``rate limited`` (penalized, with ``slack.retry.after``)
and the processor yields until the wait is over, so looping ``rate limited`` back
delivers it later without hammering Slack. A Slack that cannot be reached at all
(refused, timed out) leaves the FlowFile in its queue, penalized, with a warning
bulletin: an outage delays alerts but loses none. Any other refusal (a 4xx, or the Web
API's ``"ok": false``) goes to ``failure`` with Slack's reason in ``error.message``.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from typing import Any

import httpx
import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship, flag
from headwater.processors.failure import route_to_failure
from headwater.units import parse_data_size, parse_duration, parse_http_url

RETRY_AFTER = "slack.retry.after"
CHANNEL_ID = "slack.channel.id"
TIMESTAMP = "slack.ts"
CONTENT_AS_MESSAGE = "Send FlowFile Content as Message"
USE_PROPERTY = "Use 'Message Text' Property"
_BATCH = 100  # messages per trigger: one session commit for many alerts
MAX_CONTENT_MESSAGE = 500_000  # bytes; Slack cuts a message at 40,000 characters anyway


class _RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"Slack rate limit reached: retry after {seconds:g} s")
        self.seconds = seconds


class _Refused(Exception):
    """Slack answered, and said no: retrying the same request will not help."""


class _SlackProcessor(Processor):
    """The HTTP client, the rate limit and the routing the two Slack processors share."""

    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Messages Slack accepted.")
    FAILURE = Relationship("failure", "Messages Slack refused (reason in error.message).")
    RATE_LIMITED = Relationship(
        "rate limited",
        "Messages Slack answered with 429; penalized, with slack.retry.after (seconds).",
    )

    timeout = Property(
        "Read Timeout",
        "Longest wait for Slack to answer",
        default="30 sec",
        required=True,
        parse=parse_duration,
    )

    _client: httpx.Client | None = None
    _blocked_until = 0.0

    def on_scheduled(self, context: ProcessContext) -> None:
        seconds = context[self.timeout]
        self._client = httpx.Client(timeout=seconds, trust_env=False)
        self._blocked_until = 0.0

    def on_stopped(self, context: ProcessContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if time.monotonic() < self._blocked_until:
            context.yield_()  # NiFi's RateLimit: do not even try until Retry-After passed
            return
        batch = session.get_batch(_BATCH)
        if batch and self._client is None:
            self.on_scheduled(context)
        for index, ff in enumerate(batch):
            if not self._send_one(context, session, ff):
                session.transfer_all(batch[index + 1 :])  # untried: back to the queue
                context.yield_()
                return

    def _send_one(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> bool:
        """Deliver and route ``ff``; False when Slack asked to wait or cannot be reached."""
        started = time.monotonic()
        try:
            transit, attributes = self.deliver(context, session, ff)
        except _RateLimited as exc:
            self._blocked_until = time.monotonic() + exc.seconds
            extra = {RETRY_AFTER: f"{exc.seconds:g}"}
            route_to_failure(
                context, session, ff, self.RATE_LIMITED, exc, penalize=True, extra=extra
            )
            return False
        except (_Refused, ValueError, LookupError, httpx.InvalidURL) as exc:
            route_to_failure(context, session, ff, self.FAILURE, exc)
        except httpx.HTTPError as exc:
            context.logger.warning(
                "Slack cannot be reached (%s); %s stays queued and is tried again", exc, ff.uuid
            )
            session.transfer(session.penalize(ff))
            return False
        else:
            millis = int((time.monotonic() - started) * 1000)
            ff = session.put_all_attributes(ff, attributes) if attributes else ff
            session.provenance.send(ff, transit, millis=millis)
            session.transfer(ff, self.SUCCESS)
        return True

    @abstractmethod
    def deliver(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile
    ) -> tuple[str, dict[str, str]]:
        """Send ``ff``; the transit URI and attributes to add. Raises ``_RateLimited``,
        ``_Refused`` or ``httpx.HTTPError`` (Slack not reached)."""
        ...

    def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None
        response = self._client.post(url, **kwargs)
        if response.status_code == 429:
            raise _RateLimited(_retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            # Slack itself is in trouble: as unreachable, the FlowFile waits in its queue
            raise httpx.HTTPStatusError(
                f"Slack answered {response.status_code}",
                request=response.request,
                response=response,
            )
        if response.status_code >= 300:
            raise _Refused(f"Slack answered {response.status_code}: {response.text[:200]}")
        return response


def _retry_after(header: str | None) -> float:
    """Seconds from a Retry-After header; Slack sends whole seconds, default 1."""
    try:
        return max(0.0, float(header)) if header else 1.0
    except ValueError:
        return 1.0


class PutSlack(_SlackProcessor):
    """Posts a message to Slack through an incoming webhook.

    The text comes from Webhook Text (Expression Language, so ``${temperature}`` fills
    in the reading); Channel, Username and the icon override the webhook's defaults
    where the webhook allows it.
    """

    tags = ("put", "slack", "notify", "alert", "webhook")

    webhook_url = Property(
        "webhook-url",
        "The incoming webhook's URL",
        required=True,
        sensitive=True,
        parse=parse_http_url,
        display_name="Webhook URL",
    )
    text = Property(
        "webhook-text",
        "The message text",
        required=True,
        expression=True,
        display_name="Webhook Text",
    )
    channel = Property(
        "channel",
        "A channel (#name) or user (@name) to post to",
        expression=True,
        display_name="Channel",
    )
    username = Property(
        "username", "The name the message appears from", expression=True, display_name="Username"
    )
    icon_url = Property(
        "icon-url",
        "URL of an image to show beside the message",
        expression=True,
        display_name="Icon URL",
    )
    icon_emoji = Property(
        "icon-emoji",
        "An emoji (:name:) to show beside the message",
        expression=True,
        display_name="Icon Emoji",
    )

    def deliver(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile
    ) -> tuple[str, dict[str, str]]:
        text = context.evaluate(self.text, ff)
        if not text.strip():
            raise _Refused("Webhook Text evaluated to nothing: Slack refuses an empty message")
        body: dict[str, str] = {"text": text}
        for prop, key in (
            (self.channel, "channel"),
            (self.username, "username"),
            (self.icon_url, "icon_url"),
            (self.icon_emoji, "icon_emoji"),
        ):
            if context.is_set(prop) and (value := context.evaluate(prop, ff)):
                body[key] = value
        url = context[self.webhook_url]
        self._post(url, content=orjson.dumps(body), headers={"Content-Type": "application/json"})
        return url, {}


class PublishSlack(_SlackProcessor):
    """Posts a message to a Slack channel through the Web API (chat.postMessage), with
    the content as the text or, optionally, uploaded as a file beside a text.

    The token needs chat:write, and files:write to upload (and channels:read to find
    a ``#name``). The channel is an id (``C0123456789``) or a public channel's
    ``#name``, looked up once.
    """

    tags = ("slack", "chat.postMessage", "publish", "send", "upload", "notify", "alert")

    token = Property(
        "Access Token",
        "A bot or user OAuth token with chat:write (and files:write to upload)",
        required=True,
        sensitive=True,
    )
    channel = Property("Channel", "Channel id or #name", required=True, expression=True)
    strategy = Property(
        "Publish Strategy",
        "Send the content as the message, or the Message Text property",
        default=CONTENT_AS_MESSAGE,
        required=True,
        allowed=(CONTENT_AS_MESSAGE, USE_PROPERTY),
    )
    message = Property(
        "Message Text", "The message, with Use 'Message Text' Property", expression=True
    )
    charset = Property(
        "Character Set",
        "Encoding of the content sent as the message",
        default="UTF-8",
        required=True,
        expression=True,
    )
    attach = flag(
        "Include FlowFile Content as Attachment",
        "Upload the content as a file with the message (Use 'Message Text' Property)",
        default="false",
        required=True,
    )
    max_size = Property(
        "Max FlowFile Size",
        "Larger content goes to failure instead of being uploaded",
        default="1 MB",
        required=True,
        parse=parse_data_size,
    )
    thread = Property(
        "Thread Timestamp", "Reply in this message's thread (its ts)", expression=True
    )
    endpoint = Property(
        "Methods Endpoint Url Prefix",
        "Where Slack's Web API methods are",
        default="https://slack.com/api/",
        required=True,
        parse=parse_http_url,
    )

    def __init__(self) -> None:
        self._channels: dict[str, str] = {}

    def deliver(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile
    ) -> tuple[str, dict[str, str]]:
        channel = self._channel_id(context, context.evaluate(self.channel, ff))
        body: dict[str, Any] = {"channel": channel}
        if context.is_set(self.thread) and (ts := context.evaluate(self.thread, ff)):
            body["thread_ts"] = ts
        if context[self.strategy] == CONTENT_AS_MESSAGE:
            if ff.size > MAX_CONTENT_MESSAGE:
                raise _Refused(f"content of {ff.size} bytes is too long for a Slack message")
            body["text"] = session.read(ff).decode(context.evaluate(self.charset, ff))
        else:
            body["text"] = (
                context.evaluate(self.message, ff) if context.is_set(self.message) else ""
            )
            if context[self.attach]:
                return self._upload(context, session, ff, body)
        if not body["text"].strip():
            raise _Refused("the message text is empty: Slack refuses an empty message")
        answer = self._call(context, "chat.postMessage", json=body)
        return self._url(context, "chat.postMessage"), {
            CHANNEL_ID: str(answer.get("channel", channel)),
            TIMESTAMP: str(answer.get("ts", "")),
        }

    def _upload(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile, body: dict[str, Any]
    ) -> tuple[str, dict[str, str]]:
        """Slack's upload in three steps: ask for an upload URL, post the bytes there,
        then share the file in the channel with the text as its comment."""
        if ff.size > context[self.max_size]:
            raise _Refused(f"content of {ff.size} bytes is over Max FlowFile Size")
        name = ff.attributes.get("filename", ff.uuid)
        ticket = self._call(
            context, "files.getUploadURLExternal", data={"filename": name, "length": ff.size}
        )
        self._post(str(ticket["upload_url"]), content=session.read(ff))
        share: dict[str, Any] = {
            "files": [{"id": ticket["file_id"], "title": name}],
            "channel_id": body["channel"],
        }
        if body["text"]:
            share["initial_comment"] = body["text"]
        if "thread_ts" in body:
            share["thread_ts"] = body["thread_ts"]
        self._call(context, "files.completeUploadExternal", json=share)
        return self._url(context, "files.completeUploadExternal"), {
            CHANNEL_ID: str(body["channel"]),
            "slack.file.id": str(ticket["file_id"]),
        }

    def _channel_id(self, context: ProcessContext, channel: str) -> str:
        """The id of a channel given as an id or as a public channel's ``#name``
        (looked up once with conversations.list, as NiFi does, then kept)."""
        if not channel or channel == "#":
            raise _Refused("Channel evaluated to nothing")
        if not channel.startswith("#"):
            return channel
        name = channel[1:]
        cursor = ""
        while name not in self._channels:
            form = {"limit": "1000", "exclude_archived": "true", "types": "public_channel"}
            answer = self._call(context, "conversations.list", data=form | {"cursor": cursor})
            for found in answer.get("channels", []):
                self._channels[str(found.get("name"))] = str(found.get("id"))
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if name not in self._channels and not cursor:
                raise _Refused(f"no public channel named {channel!r}; give its id instead")
        return self._channels[name]

    def _url(self, context: ProcessContext, method: str) -> str:
        return context[self.endpoint].rstrip("/") + "/" + method

    def _call(self, context: ProcessContext, method: str, **kwargs: Any) -> dict[str, Any]:
        """A Web API method's answer; Slack says no with HTTP 200 and ``"ok": false``."""
        headers = {"Authorization": f"Bearer {context[self.token]}"}
        response = self._post(self._url(context, method), headers=headers, **kwargs)
        try:
            answer = response.json()
        except ValueError:
            raise _Refused(f"{method}: Slack's answer is not JSON: {response.text[:200]}") from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error", "unknown error") if isinstance(answer, dict) else answer
            raise _Refused(f"{method}: Slack refused the message: {error}")
        return answer
