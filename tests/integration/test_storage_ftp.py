"""PutFTP against a real pyftpdlib server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
from pyftpdlib.servers import ThreadedFTPServer  # type: ignore[import-untyped]

from headwater.processors.storage_ftp import REMOTE_URL, PutFTP
from headwater.testing import TestRunner

pytestmark = pytest.mark.integration

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(200_000) + b"\xff\xd9"


class _Server:
    def __init__(self, home: Path) -> None:
        self.home = home
        authorizer = DummyAuthorizer()
        authorizer.add_user("camera", "secret", str(home), perm="elradfmwMT")
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
        self.server = ThreadedFTPServer(("127.0.0.1", 0), handler)
        self.port: int = self.server.address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.close_all()
        self.thread.join(5)


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[_Server]:
    home = tmp_path / "ftp-home"
    home.mkdir()
    server = _Server(home)
    try:
        yield server
    finally:
        server.stop()


def _runner(server: _Server, **extra: str) -> TestRunner:
    props = {
        "Hostname": "127.0.0.1",
        "Port": str(server.port),
        "Username": "camera",
        "Password": "secret",
        "Remote Path": "/images/${camera}",
        "Create Directory": "true",
        **extra,
    }
    return TestRunner(PutFTP, props)


def test_jpeg_arrives_byte_for_byte_with_its_url(ftp: _Server) -> None:
    runner = _runner(ftp)
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    runner.assert_all_transferred(PutFTP.SUCCESS, count=1)
    out = runner.transferred(PutFTP.SUCCESS)[0]
    assert (ftp.home / "images" / "porch" / "cat.jpg").read_bytes() == JPEG
    assert os.listdir(ftp.home / "images" / "porch") == ["cat.jpg"], "no dot file left"
    url = f"ftp://127.0.0.1:{ftp.port}/images/porch/cat.jpg"
    assert out.attributes[REMOTE_URL] == url
    assert [e.transit_uri for e in runner.provenance_events() if e.event_type == "SEND"] == [url]


def _existing(ftp: _Server) -> Path:
    target = ftp.home / "images" / "porch" / "cat.jpg"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    return target


@pytest.mark.parametrize(
    ("strategy", "relationship", "expected"),
    [
        ("REPLACE", "success", JPEG),
        ("NONE", "success", JPEG),
        ("IGNORE", "success", b"old"),
        ("FAIL", "failure", b"old"),
        ("REJECT", "reject", b"old"),
    ],
)
def test_conflict_resolution(
    ftp: _Server, strategy: str, relationship: str, expected: bytes
) -> None:
    target = _existing(ftp)
    runner = _runner(ftp, **{"Conflict Resolution": strategy})
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    runner.assert_all_transferred(relationship, count=1)
    assert target.read_bytes() == expected
    assert sorted(os.listdir(target.parent)) == ["cat.jpg"]
    sent = "SEND" in runner.provenance_types()
    assert sent == (expected == JPEG)


def test_rename_picks_a_free_name(ftp: _Server) -> None:
    target = _existing(ftp)
    runner = _runner(ftp, **{"Conflict Resolution": "RENAME"})
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    out = runner.transferred(PutFTP.SUCCESS)[0]
    assert target.read_bytes() == b"old"
    assert (target.parent / "1.cat.jpg").read_bytes() == JPEG
    assert out.attributes[REMOTE_URL].endswith("/images/porch/1.cat.jpg")


def test_missing_directory_without_create_goes_to_failure(ftp: _Server) -> None:
    runner = _runner(ftp, **{"Create Directory": "false"})
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    out = runner.transferred(PutFTP.FAILURE)[0]
    assert "does not exist" in out.attributes["error.message"]
    assert out.penalized


def test_without_dot_rename_writes_in_place(ftp: _Server) -> None:
    runner = _runner(ftp, **{"Dot Rename": "false", "Remote Path": "/"})
    runner.enqueue(JPEG, filename="cat.jpg")
    runner.run()
    runner.assert_all_transferred(PutFTP.SUCCESS, count=1)
    assert (ftp.home / "cat.jpg").read_bytes() == JPEG


def test_unreachable_server_goes_to_failure_penalized() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runner = TestRunner(
        PutFTP,
        {"Hostname": "127.0.0.1", "Port": str(port), "Username": "camera", "Password": "x"},
    )
    runner.enqueue(JPEG, filename="cat.jpg")
    runner.run()
    runner.assert_all_transferred(PutFTP.FAILURE, count=1)
    out = runner.transferred(PutFTP.FAILURE)[0]
    assert out.content == JPEG, "nothing lost"
    assert f"ftp://127.0.0.1:{port}" in out.attributes["error.message"]
    assert out.penalized


def test_wrong_password_goes_to_failure(ftp: _Server) -> None:
    runner = _runner(ftp, Password="wrong")
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    out = runner.transferred(PutFTP.FAILURE)[0]
    assert "530" in out.attributes["error.message"]
