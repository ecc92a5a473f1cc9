"""``JobsServer``: the jobs service behind its API, listening, its schedules running.

What ``headwater jobs serve`` and ``headwater up`` run, and what tests start on a free
port: one object so that the order (bind, then tell the service its URL for the
answers' url fields, then start the cron schedules) and the stop (the API first, then
every run in flight, recorded ``stopped``) live in one place.
"""

from __future__ import annotations

from types import TracebackType

from headwater.http.asgi import AsgiServer
from headwater.jobs.api import create_app
from headwater.jobs.config import JobsConfig
from headwater.jobs.service import JobsService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8082


class JobsServer:
    """Serves ``service`` (or a service made from ``config``) on ``host:port``."""

    def __init__(
        self,
        service: JobsService | JobsConfig,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
    ) -> None:
        self.service = service if isinstance(service, JobsService) else JobsService(service)
        self._server = AsgiServer(create_app(self.service), host, port, name="headwater-jobs")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        """Bind (a port in use fails here, naming the address), then run the schedules;
        on a failure the service is stopped too."""
        try:
            self._server.start()
        except BaseException:
            self.service.stop()
            raise
        if not self.service.base_url:
            self.service.base_url = self._server.url
        self.service.start()

    def stop(self) -> None:
        self._server.stop()
        self.service.stop()

    def __enter__(self) -> JobsServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
