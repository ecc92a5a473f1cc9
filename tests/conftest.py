"""Real servers on 127.0.0.1 shared by the integration and end-to-end tests.

``moto_endpoint`` and ``ftp_server`` run once per test run (each test works in its own
bucket or directory); ``servers`` starts more of them on demand, say on a port that was
closed until then, and ``closed_port`` is a port nothing listens on. Every server is
stopped when its fixture ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
from pyftpdlib.servers import ThreadedFTPServer  # type: ignore[import-untyped]

from ports import free_port

FTP_USER, FTP_PASSWORD = "camera", "secret"


class FtpServer:
    """pyftpdlib in a thread: user ``camera``/``secret`` with every permission on
    ``home``."""

    def __init__(self, home: Path, port: int = 0) -> None:
        self.home = home
        authorizer = DummyAuthorizer()
        authorizer.add_user(FTP_USER, FTP_PASSWORD, str(home), perm="elradfmwMT")
        settings = {"authorizer": authorizer, "auth_failed_timeout": 0.01}
        handler = type("Handler", (FTPHandler,), settings)
        self.server = ThreadedFTPServer(("127.0.0.1", port), handler)
        self.port: int = self.server.address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.close_all()
        self.thread.join(5)


def start_moto(port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """A moto S3 server and its URL; any access key works."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return server, f"http://{host}:{bound}"


class Servers:
    """Servers a test starts itself; all stopped when the test ends."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._ftp: list[FtpServer] = []
        self._moto: list[ThreadedMotoServer] = []

    def ftp(self, port: int = 0) -> FtpServer:
        home = self.home / f"ftp{len(self._ftp)}"
        home.mkdir(parents=True)
        server = FtpServer(home, port)
        self._ftp.append(server)
        return server

    def s3(self, port: int = 0) -> str:
        server, url = start_moto(port)
        self._moto.append(server)
        return url

    def stop(self) -> None:
        for ftp in self._ftp:
            ftp.stop()
        for moto in self._moto:
            moto.stop()


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory.mktemp("servers"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FtpServer]:
    running = FtpServer(tmp_path_factory.mktemp("ftp-home"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server, url = start_moto()
    try:
        yield url
    finally:
        server.stop()
