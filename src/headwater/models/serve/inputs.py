"""An image for a built-in model, from the request: by ``url`` or as base64 ``image``.

``http(s)://`` is read with httpx on the server's event loop; ``ftp://`` and ``s3://``
through fsspec on a thread (credentials and endpoints come from ``inputs.storage-options``
in models.yaml, by URL prefix, since the seed's URLs carry none); ``file://`` only below
``inputs.allowed-root``, and not at all without one, so a caller cannot read the
server's own files. Every read stops at ``inputs.max-bytes``.

Each failure is an ``InputError`` with the HTTP status to answer and a reason a person
can act on; the request fails alone and the server goes on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from headwater.errors import ApiError
from headwater.models.serve.config import Inputs

FSSPEC_SCHEMES = ("ftp", "s3", "s3a")
FETCH_THREADS = 32


class InputError(ApiError):
    """The request's image cannot be had: ``status`` (4xx) and the reason."""


class ImageSource:
    """Reads images for requests, under one ``Inputs`` policy."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self._client: httpx.AsyncClient | None = None
        # blocking reads (ftplib, s3fs, files) on threads of their own: a slow FTP
        # server must not hold the loop's default executor
        self._threads = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="model-fetch")

    async def image(self, request: Any) -> bytes:
        """The image bytes a model request names (``url``) or holds (``image``)."""
        if not isinstance(request, Mapping):
            raise InputError(400, "`request` must be a JSON object with `url` or `image`")
        if isinstance(request.get("image"), str):
            return self.decode_base64(request["image"])
        if isinstance(request.get("url"), str):
            return await self.fetch(request["url"])
        raise InputError(
            400, "`request` needs `url` (http, https, ftp, s3, file) or `image` (base64)"
        )

    def decode_base64(self, text: str) -> bytes:
        if text.startswith("data:"):
            text = text.partition(",")[2]
        if len(text) * 3 // 4 > self.inputs.max_bytes + 3:
            raise self.too_large()
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError(400, f"`image` is not valid base64: {exc}") from exc

    def too_large(self) -> InputError:
        return InputError(
            413, f"the image is larger than the limit of {self.inputs.max_bytes} bytes"
        )

    async def fetch(self, url: str) -> bytes:
        scheme = urlsplit(url).scheme.lower()
        try:
            if scheme in ("http", "https"):  # the whole read, not each step, is timed
                return await asyncio.wait_for(self._fetch_http(url), self.inputs.fetch_timeout)
            loop = asyncio.get_running_loop()
            if scheme == "file":
                return await loop.run_in_executor(self._threads, self._read_file, url)
            if scheme in FSSPEC_SCHEMES:
                return await asyncio.wait_for(
                    loop.run_in_executor(self._threads, self._fetch_fsspec, url),
                    self.inputs.fetch_timeout,
                )
        except InputError:
            raise
        except ImportError as exc:  # fsspec without the scheme's package (s3fs)
            raise InputError(501, f"this server cannot read {scheme}:// URLs: {exc}") from exc
        except TimeoutError as exc:
            raise InputError(
                422, f"reading {url} took longer than {self.inputs.fetch_timeout:g} s"
            ) from exc
        except (OSError, httpx.HTTPError, ValueError) as exc:
            raise InputError(422, f"cannot read {url}: {type(exc).__name__}: {exc}") from exc
        raise InputError(
            400,
            f"unsupported URL scheme {scheme or 'none'!r} in {url!r}: "
            "use http, https, ftp, s3 or file",
        )

    async def _fetch_http(self, url: str) -> bytes:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.inputs.fetch_timeout, follow_redirects=True
            )
        async with self._client.stream("GET", url) as answer:
            if answer.status_code >= 400:
                raise InputError(422, f"reading {url} was answered {answer.status_code}")
            declared = answer.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.inputs.max_bytes:
                raise self.too_large()
            chunks: list[bytes] = []
            size = 0
            async for chunk in answer.aiter_bytes():
                size += len(chunk)
                if size > self.inputs.max_bytes:
                    raise self.too_large()
                chunks.append(chunk)
        return b"".join(chunks)

    def _read_file(self, url: str) -> bytes:
        root = self.inputs.allowed_root
        if root is None:
            raise InputError(
                403, "file:// URLs are refused: the models service has no inputs.allowed-root"
            )
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise InputError(400, f"a file:// URL names a local path, not host {parts.netloc!r}")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(root.resolve()):
            raise InputError(403, f"{path} is outside the allowed root {root}")
        if not path.is_file():
            raise InputError(422, f"{path} is not a file")
        if path.stat().st_size > self.inputs.max_bytes:
            raise self.too_large()
        return path.read_bytes()

    def _fetch_fsspec(self, url: str) -> bytes:
        import fsspec  # type: ignore[import-untyped]

        options = dict(self._storage_options(url))
        if urlsplit(url).scheme.lower() == "ftp":
            # ftplib is one connection per filesystem: a cached, shared one would mix up
            # the replies of concurrent reads.
            options.setdefault("skip_instance_cache", True)
            options.setdefault("timeout", self.inputs.fetch_timeout)
        with fsspec.open(url, "rb", **options) as stream:
            data: bytes = stream.read(self.inputs.max_bytes + 1)
        if len(data) > self.inputs.max_bytes:
            raise self.too_large()
        return data

    def _storage_options(self, url: str) -> Mapping[str, Any]:
        """The options of the longest ``storage-options`` prefix the URL starts with."""
        found: Mapping[str, Any] = {}
        best = -1
        for prefix, options in self.inputs.storage_options.items():
            if url.startswith(prefix) and len(prefix) > best:
                found, best = options, len(prefix)
        return found

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._threads.shutdown(wait=False, cancel_futures=True)
