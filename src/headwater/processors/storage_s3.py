"""PutS3Object and FetchS3Object: objects in Amazon S3 or any S3-compatible store.

Both go through :mod:`headwater.storage` (s3fs). One filesystem per schedule reuses its
connections; botocore retries once and times out quickly so that an unreachable
endpoint sends the FlowFile to failure, penalized, instead of holding the thread; the
rest of the batch then goes back to the queue untried and the processor yields, so a
dead endpoint costs one timeout per yield, not one per FlowFile.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import (  # type: ignore[import-untyped]
    ConnectionError as EndpointUnreachable,
)

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.storage import REPLACE, Storage, open_storage
from headwater.units import parse_duration


class _S3Processor(Processor):
    """Properties shared by the S3 processors, with NiFi's names."""

    bucket = Property("Bucket", "The S3 bucket", required=True, expression=True)
    key = Property("Object Key", "The S3 object key", default="${filename}", expression=True)
    region = Property("Region", "The AWS region", default="us-west-2", required=True)
    access_key = Property(
        "Access Key", "AWS access key ID", display_name="Access Key ID", sensitive=True
    )
    secret_key = Property(
        "Secret Key", "AWS secret access key", display_name="Secret Access Key", sensitive=True
    )
    endpoint = Property(
        "Endpoint Override URL",
        "An S3-compatible endpoint to use instead of AWS, such as http://127.0.0.1:9000",
    )
    timeout = Property(
        "Communications Timeout",
        "How long to wait for a connection or a reply",
        default="30 secs",
        required=True,
        parse=parse_duration,
    )

    _storage: Storage | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        seconds = context[self.timeout]
        options: dict[str, Any] = {
            "skip_instance_cache": True,
            "client_kwargs": {"region_name": context[self.region]},
            "config_kwargs": {
                "connect_timeout": seconds,
                "read_timeout": seconds,
                "retries": {"max_attempts": 1, "mode": "standard"},
            },
        }
        if context.get(self.endpoint):
            options["endpoint_url"] = context[self.endpoint]
        if context.get(self.access_key):
            options["key"] = context[self.access_key]
            options["secret"] = context.get(self.secret_key) or ""
        self._storage, _ = open_storage("s3://", **options)

    def on_stopped(self, context: ProcessContext) -> None:
        self._storage = None

    def _locate(self, context: ProcessContext, ff: FlowFile) -> tuple[str, str, str]:
        """Bucket, key, and the URL for provenance and attributes."""
        bucket = context.evaluate(self.bucket, ff).strip()
        key = context.evaluate(self.key, ff).lstrip("/")
        if not bucket or not key:
            raise ProcessException(f"bucket {bucket!r} and object key {key!r} must not be empty")
        endpoint = context.get(self.endpoint)
        url = f"{endpoint.rstrip('/')}/{bucket}/{key}" if endpoint else f"s3://{bucket}/{key}"
        return bucket, key, url

    def _unreachable(
        self,
        context: ProcessContext,
        session: ProcessSession,
        rest: list[FlowFile],
        exc: Exception,
    ) -> bool:
        """Whether ``exc`` says the endpoint cannot be reached; if so the ``rest`` of the
        batch goes back to its queue untried and the processor yields."""
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, EndpointUnreachable):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            return False
        session.transfer_all(rest)
        context.yield_()
        return True

    def _fail(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile, exc: Exception
    ) -> None:
        cause = type(exc.__cause__ or exc).__name__
        route_to_failure(
            context, session, ff, "failure", exc, penalize=True, extra={"s3.exception": cause}
        )


class PutS3Object(_S3Processor):
    """Writes the content of each FlowFile as an object in Amazon S3 or an S3-compatible
    store; the object is visible only once complete."""

    tags = ("amazon", "s3", "aws", "archive", "put")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Objects written; s3.bucket, s3.key, s3.etag, s3.url set.")
    FAILURE = Relationship("failure", "Objects not written (reason in error.message), penalized.")

    content_type = Property(
        "Content Type",
        "The object's Content-Type; by default the mime.type attribute when present",
        expression=True,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        storage = self._storage
        assert storage is not None, "on_scheduled opens the storage"
        batch = session.get_batch(100)
        for index, ff in enumerate(batch):
            started = time.monotonic()
            try:
                bucket, key, url = self._locate(context, ff)
                content_type = (
                    context.evaluate(self.content_type, ff)
                    if context.is_set(self.content_type)
                    else ff.attributes.get("mime.type", "")
                )
                options = {"ContentType": content_type} if content_type else {}
                with session.open_read(ff) as stream:
                    result = storage.put(f"{bucket}/{key}", stream, REPLACE, write_options=options)
            except ProcessException as exc:
                self._fail(context, session, ff, exc)
                if self._unreachable(context, session, batch[index + 1 :], exc):
                    return
                continue
            attributes = {"s3.bucket": bucket, "s3.key": key, "s3.url": url}
            etag = str(result.details.get("ETag", "")).strip('"')
            if etag:
                attributes["s3.etag"] = etag
            if content_type:
                attributes["s3.contenttype"] = content_type
            ff = session.put_all_attributes(ff, attributes)
            millis = int((time.monotonic() - started) * 1000)
            session.provenance.send(ff, url, millis=millis)
            session.transfer(ff, self.SUCCESS)


class FetchS3Object(_S3Processor):
    """Replaces the content of each FlowFile with an object read from S3."""

    tags = ("amazon", "s3", "aws", "get", "fetch")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Objects fetched into the FlowFile's content.")
    FAILURE = Relationship("failure", "Objects not fetched (reason in error.message), penalized.")

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        storage = self._storage
        assert storage is not None, "on_scheduled opens the storage"
        batch = session.get_batch(100)
        for index, ff in enumerate(batch):
            started = time.monotonic()
            try:
                bucket, key, url = self._locate(context, ff)
                data = storage.fetch(f"{bucket}/{key}")
            except ProcessException as exc:
                self._fail(context, session, ff, exc)
                if self._unreachable(context, session, batch[index + 1 :], exc):
                    return
                continue
            ff = session.write(ff, data)
            ff = session.put_all_attributes(ff, {"s3.bucket": bucket, "s3.key": key})
            millis = int((time.monotonic() - started) * 1000)
            session.provenance.fetch(ff, url, millis=millis)
            session.transfer(ff, self.SUCCESS)
