"""Write a stream to ``file://``, ``s3://``, ``ftp://`` or ``hdfs://`` through fsspec.

Every put goes to a hidden temporary name (``.name.<token>``) beside the target and is
then renamed into place where the filesystem can rename (file, ftp, hdfs), so a reader
never sees a partial file. S3 has no rename, but a PUT only becomes visible once
complete, so objects are written directly. Conflicts: ``replace`` overwrites, ``ignore``
leaves the existing file and reports nothing written, ``fail`` raises
:class:`StorageConflict`, ``append`` (where the filesystem can: file, hdfs) writes at
the end of an existing file in place. :meth:`Storage.write` hands the caller the open
stream, so a Parquet writer streams into the temporary file with no copy in memory; if
the caller fails, the partial file is discarded (an s3 upload is aborted). On remote
filesystems the existence check and the rename are two steps, so two writers of the same
name racing under ``fail`` may both succeed; PutFile's local hard-link trick has no
remote equivalent.

``hdfs://`` goes through fsspec's ``ArrowFSWrapper`` over pyarrow's HadoopFileSystem
(libhdfs and a JVM). No HDFS can run on this machine, so that path is code only and
untested here; it shares every line after ``_filesystem`` with file and s3.

Every lower-level error (OSError, botocore, ftplib) leaves as one :class:`StorageError`
naming the operation and the URL, so a processor routes the FlowFile to failure.
"""

from __future__ import annotations

import contextlib
import ftplib
import posixpath
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from headwater.errors import ProcessException

REPLACE, IGNORE, FAIL, APPEND = "replace", "ignore", "fail", "append"
CONFLICTS = (REPLACE, IGNORE, FAIL)
"""What every filesystem can do; ``append`` is extra, see :meth:`Storage.write`."""
_RENAMES = frozenset({"file", "ftp", "hdfs"})
_CHUNK = 1 << 20


class StorageError(ProcessException):
    """A put or fetch that failed: what was attempted, where, and why."""


class StorageNotFound(StorageError):
    """The file or object to fetch is not there."""


class StorageConflict(StorageError):
    """The target exists and the conflict resolution is ``fail``: retrying will not help."""


@dataclass(frozen=True)
class PutResult:
    """Where a put landed and whether anything was written (False: ignored)."""

    url: str
    written: bool
    details: Mapping[str, Any]
    created_dir: bool = False
    appended: bool = False


class Storage:
    """One filesystem reached by URL; ``options`` go to the fsspec implementation
    (``endpoint_url``, ``key``, ``secret`` for s3; ``username``, ``password`` for ftp)."""

    def __init__(self, scheme: str, fs: Any, prefix: str) -> None:
        self.scheme = scheme
        self.fs = fs
        self._prefix = prefix  # put in front of a path to make a URL, e.g. ftp://host:21

    def url(self, path: str) -> str:
        return f"{self._prefix}{path}" if self._prefix else path

    def put(
        self,
        path: str,
        stream: BinaryIO,
        conflict: str = FAIL,
        *,
        create_dirs: bool = True,
        temporary: str | None = None,
        atomic: bool = True,
        write_options: Mapping[str, Any] | None = None,
    ) -> PutResult:
        """Copy ``stream`` to ``path``. ``temporary`` overrides the temporary name,
        ``atomic=False`` writes in place, and ``write_options`` go to the filesystem's
        ``open`` (``ContentType`` for s3)."""
        return self.write(
            path,
            lambda out: shutil.copyfileobj(stream, out, _CHUNK),
            conflict,
            create_dirs=create_dirs,
            temporary=temporary,
            atomic=atomic,
            write_options=write_options,
        )

    def write(
        self,
        path: str,
        produce: Callable[[BinaryIO], object],
        conflict: str = FAIL,
        *,
        create_dirs: bool = True,
        temporary: str | None = None,
        atomic: bool = True,
        write_options: Mapping[str, Any] | None = None,
    ) -> PutResult:
        """Write ``path`` with ``produce(out)``, which writes the content to the open
        stream; the same conflicts, temporary name and errors as :meth:`put`. Under
        ``append`` an existing file is opened for appending (s3 and ftp refuse) and the
        write is in place, as HDFS appends are."""
        options = dict(write_options or {})
        if conflict not in (*CONFLICTS, APPEND):
            expected = ", ".join((*CONFLICTS, APPEND))
            raise ValueError(f"conflict must be one of {expected}, got {conflict!r}")
        url = self.url(path)
        action = "checking"
        try:
            self.fs.invalidate_cache()  # listings are cached; others may have written since
            exists = conflict != REPLACE and self.fs.exists(path)
            if exists and conflict == IGNORE:
                return PutResult(url, False, {})
            if exists and conflict == FAIL:
                raise StorageConflict(f"{url} already exists (conflict resolution {conflict})")
            parent = posixpath.dirname(path.rstrip("/"))
            created = False
            if parent and self.scheme != "s3" and not self.fs.exists(parent):
                if not create_dirs:
                    raise StorageError(f"directory {self.url(parent)} does not exist")
                action = "creating the directory for"
                self.fs.makedirs(parent, exist_ok=True)
                created = True
            action = "writing"
            if exists:  # append
                if self.scheme in ("s3", "ftp"):
                    raise StorageError(f"{url} exists and {self.scheme} cannot append to it")
                action = "appending to"
                self._produce(produce, path, "ab", options)
                return PutResult(url, True, self._info(path), created, appended=True)
            if self.scheme not in _RENAMES or not atomic:
                self._produce(produce, path, "wb", options)
            else:
                name = posixpath.basename(path)
                temp = posixpath.join(parent, temporary or f".{name}.{uuid.uuid4().hex[:12]}")
                try:
                    self._produce(produce, temp, "wb", options)
                except BaseException:
                    self._discard(temp)
                    raise
                action = "renaming into place"
                try:
                    if conflict == REPLACE and self.scheme == "ftp" and self.fs.exists(path):
                        self.fs.rm_file(path)  # not every FTP server renames over a file
                    self.fs.mv(temp, path)
                except BaseException:
                    self._discard(temp)
                    raise
            action = "describing"
            return PutResult(url, True, self._info(path), created)
        except ProcessException:  # a StorageError, or what ``produce`` raised on purpose
            raise
        except (OSError, ftplib.Error, EOFError) as exc:
            raise StorageError(f"{action} {url} failed: {_reason(exc)}") from exc
        except Exception as exc:  # botocore and aiohttp errors have no common base
            raise StorageError(f"{action} {url} failed: {_reason(exc)}") from exc

    def _produce(
        self,
        produce: Callable[[BinaryIO], object],
        path: str,
        mode: str,
        options: Mapping[str, Any],
    ) -> None:
        out = self.fs.open(path, mode, **options)
        try:
            produce(out)
        except BaseException:
            # closing would publish what was written so far (an s3 PUT happens on close);
            # elsewhere the temporary file is closed here and removed by the caller
            with contextlib.suppress(Exception):
                out.discard() if self.scheme == "s3" else out.close()
            raise
        out.close()

    def _discard(self, path: str) -> None:
        with contextlib.suppress(Exception):  # best effort; the original error matters
            self.fs.rm_file(path)

    def _info(self, path: str) -> Mapping[str, Any]:
        if self.scheme != "s3":
            return {}
        try:
            info: Mapping[str, Any] = self.fs.info(path)
        except Exception:  # written; details are a bonus
            return {}
        return info

    def fetch(self, path: str) -> bytes:
        """The whole content at ``path``."""
        url = self.url(path)
        try:
            with self.fs.open(path, "rb") as source:
                data: bytes = source.read()
        except FileNotFoundError as exc:
            raise StorageNotFound(f"{url} does not exist") from exc
        except ftplib.error_perm as exc:
            if str(exc).startswith("550") and not self._exists_quietly(path):
                raise StorageNotFound(f"{url} does not exist") from exc
            raise StorageError(f"reading {url} failed: {_reason(exc)}") from exc
        except Exception as exc:
            raise StorageError(f"reading {url} failed: {_reason(exc)}") from exc
        return data

    def _exists_quietly(self, path: str) -> bool:
        try:
            return bool(self.fs.exists(path))
        except Exception:  # the fetch's own error is what gets reported
            return True


def plain_filename(filename: str) -> str:
    """``filename`` when it names a file inside a directory, not a path out of it; the
    put processors (PutFile, PutHDFS, PutParquet) all join it to a per-FlowFile
    directory, so all refuse ``..``, slashes and NULs the same way."""
    if not filename or filename in (".", "..") or "/" in filename or "\0" in filename:
        raise ProcessException(f"filename {filename!r} is not a plain file name")
    return filename


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."


def open_storage(url: str, **options: Any) -> tuple[Storage, str]:
    """The storage for ``url`` and the path within it, e.g. ``s3://bucket/a/b`` gives
    the s3 storage and ``bucket/a/b``; a bare path means ``file://``."""
    import fsspec  # type: ignore[import-untyped]  # here: ~10 MB a plain PutFile never needs

    parts = urlsplit(url)
    scheme = parts.scheme or "file"
    try:
        if scheme == "file":
            fs = fsspec.filesystem("file", **options)
            return Storage("file", fs, "file://"), parts.path
        if scheme == "s3":
            fs = fsspec.filesystem("s3", **options)
            return Storage("s3", fs, "s3://"), f"{parts.netloc}{parts.path}"
        if scheme == "ftp":
            port = parts.port or 21
            host = parts.hostname or ""
            fs = fsspec.filesystem("ftp", host=host, port=port, **options)
            return Storage("ftp", fs, f"ftp://{host}:{port}"), parts.path or "/"
        if scheme == "hdfs":
            from fsspec.implementations.arrow import ArrowFSWrapper  # type: ignore[import-untyped]
            from pyarrow import fs as pafs  # type: ignore[import-untyped]

            hadoop = pafs.HadoopFileSystem(
                parts.hostname or "default", parts.port or 8020, **options
            )
            return Storage("hdfs", ArrowFSWrapper(hadoop), f"hdfs://{parts.netloc}"), parts.path
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(
            f"connecting to {scheme}://{parts.netloc} failed: {_reason(exc)}"
        ) from exc
    raise StorageError(f"unsupported storage scheme {scheme!r} in {url!r} (file, s3, ftp, hdfs)")
