"""Where PutHDFS and PutParquet write: a Directory resolved the way Hadoop resolves it.

A Hadoop client qualifies a path without a scheme against ``fs.defaultFS`` from its
configuration resources (``core-site.xml``), and Hadoop's own default is ``file:///``.
So ``/lake/sensors/2026/11/28`` lands on the local disk with no configuration, on HDFS
with ``fs.defaultFS=hdfs://namenode:8020``, and in a bucket with
``fs.defaultFS=s3a://lake``; a Directory that carries its own scheme (``s3a://``,
``s3://``, ``hdfs://``, ``file://``) goes there whatever the default. The ``fs.s3a.*``
keys (endpoint, access and secret key, region) configure S3, as they do for Hadoop's
S3A connector, and the whole configuration goes to pyarrow's HadoopFileSystem as
``extra_conf``.

The resolved target goes through :mod:`headwater.storage.filesystem`, so file, s3 and
hdfs share the write-to-a-temporary-name-then-rename, the conflict checks and the
errors. HDFS itself cannot run on this machine: its path is code only, exercised here
through the same layer on ``file://`` and ``s3://``.
"""

from __future__ import annotations

import os
import posixpath
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from headwater.errors import ProcessException
from headwater.storage.filesystem import Storage, open_storage, plain_filename

DEFAULT_FS = "fs.defaultFS"
_SCHEMES = {"s3a": "s3", "s3n": "s3"}
_SUPPORTED = ("file", "hdfs", "s3", "s3a")


def parse_resources(text: str) -> tuple[str, ...]:
    """Comma-separated configuration files, each of which must exist (NiFi checks the
    same when the property is set)."""
    paths = tuple(p.strip() for p in text.split(",") if p.strip())
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise ValueError(f"no such file: {', '.join(missing)}")
    return paths


def read_configuration(paths: Sequence[str]) -> dict[str, str]:
    """The ``<property><name/><value/></property>`` pairs of Hadoop XML configuration
    files; later files override earlier ones, as Hadoop adds resources."""
    config: dict[str, str] = {}
    for path in paths:
        try:
            root = ElementTree.parse(path).getroot()
        except (OSError, ElementTree.ParseError) as exc:
            raise ValueError(f"cannot read Hadoop configuration {path}: {exc}") from exc
        for prop in root.iter("property"):
            name, value = prop.findtext("name"), prop.findtext("value")
            if name:
                config[name.strip()] = (value or "").strip()
    if "fs.default.name" in config and DEFAULT_FS not in config:  # the deprecated key
        config[DEFAULT_FS] = config["fs.default.name"]
    return config


@dataclass(frozen=True)
class Target:
    """One file to write: its storage, its path there, and its directory."""

    storage: Storage
    path: str
    directory: str

    @property
    def url(self) -> str:
        """What provenance records as the transit URI: ``file:///...``, ``s3://...``."""
        return self.storage.url(self.path)

    @property
    def absolute_directory(self) -> str:
        """NiFi's ``absolute.hdfs.path``: the directory's path, or its URL for s3."""
        if self.storage.scheme == "s3":
            return self.storage.url(self.directory)
        return self.directory


class HadoopFileSystems:
    """The filesystems one processor writes to, each opened once per schedule and
    chosen per FlowFile by the evaluated Directory."""

    def __init__(
        self,
        configuration: Mapping[str, str] | None = None,
        hdfs_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.configuration = dict(configuration or {})
        self._hdfs_options = dict(hdfs_options or {})
        self._open: dict[tuple[str, str], Storage] = {}
        self._lock = threading.Lock()

    @property
    def default_fs(self) -> str:
        return self.configuration.get(DEFAULT_FS) or "file:///"

    def locate(self, directory: str, filename: str) -> Target:
        """The target for ``filename`` in ``directory`` (a path or a URL)."""
        name = plain_filename(filename)
        text = directory.strip()
        if not text:
            raise ProcessException("the Directory evaluated to an empty string")
        parts = urlsplit(text)
        if not parts.scheme:
            default = urlsplit(self.default_fs)
            parts = default._replace(path=text, query="", fragment="")
        scheme = _SCHEMES.get(parts.scheme, parts.scheme)
        if scheme not in _SUPPORTED:
            raise ProcessException(
                f"{text!r}: no filesystem for {parts.scheme}:// (use {', '.join(_SUPPORTED)})"
            )
        if scheme == "file":
            folder = os.path.abspath(parts.path or "/")
        elif scheme == "s3":
            if not parts.netloc:
                raise ProcessException(f"{text!r} names no bucket (s3://bucket/prefix)")
            folder = f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
        else:
            folder = posixpath.normpath(posixpath.join("/", parts.path)) or "/"
        shared = scheme in ("file", "s3")  # one filesystem for every bucket
        storage = self._storage(scheme, "" if shared else parts.netloc)
        return Target(storage, posixpath.join(folder, name), folder)

    def _storage(self, scheme: str, netloc: str) -> Storage:
        key = (scheme, netloc)
        with self._lock:
            storage = self._open.get(key)
            if storage is None:
                storage, _ = open_storage(f"{scheme}://{netloc}/", **self._options(scheme))
                self._open[key] = storage
        return storage

    def _options(self, scheme: str) -> dict[str, Any]:
        conf = self.configuration
        if scheme == "s3":
            return s3_options(conf)
        if scheme == "hdfs":
            extra = {"extra_conf": conf} if conf else {}
            return {**extra, **self._hdfs_options}
        return {}

    def close(self) -> None:
        with self._lock:
            self._open.clear()


def s3_options(conf: Mapping[str, str]) -> dict[str, Any]:
    """s3fs options from Hadoop's S3A keys; timeouts short and one retry, so that an
    unreachable endpoint fails the FlowFile instead of holding the thread."""
    timeout = int(conf.get("fs.s3a.connection.timeout", "30000")) / 1000
    options: dict[str, Any] = {
        "skip_instance_cache": True,
        "config_kwargs": {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "retries": {"max_attempts": 1, "mode": "standard"},
        },
    }
    endpoint = conf.get("fs.s3a.endpoint", "")
    if endpoint:
        options["endpoint_url"] = endpoint if "://" in endpoint else f"https://{endpoint}"
    region = conf.get("fs.s3a.endpoint.region") or conf.get("fs.s3a.region")
    if region:
        options["client_kwargs"] = {"region_name": region}
    if conf.get("fs.s3a.access.key"):
        options["key"] = conf["fs.s3a.access.key"]
        options["secret"] = conf.get("fs.s3a.secret.key", "")
    return options
