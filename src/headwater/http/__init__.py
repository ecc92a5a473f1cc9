"""HTTP/1.1 servers for processors that listen (ListenHTTP): asyncio and httptools,
one event loop per server on a thread of its own, no web framework on the way."""

from headwater.http.server import IngestRequest, IngestServer

__all__ = ["IngestRequest", "IngestServer"]
