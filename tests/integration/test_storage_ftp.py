"""PutFTP against a real pyftpdlib server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from headwater.processors.storage_ftp import REMOTE_URL, FetchFTP, PutFTP
from headwater.processors.storage_ftp_list import ListFTP
from headwater.testing import TestRunner

pytestmark = pytest.mark.integration

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(200_000) + b"\xff\xd9"


class _Site:
    """One test's own directory on the shared server."""

    def __init__(self, server: Any, name: str) -> None:
        self.port = server.port
        self.root = f"/{name}"
        self.home = server.home / name
        self.home.mkdir()


@pytest.fixture(scope="module")
def server(ftp_server: Any) -> Any:
    return ftp_server  # the run's FTP server (tests/conftest.py), user camera/secret


@pytest.fixture
def ftp(server: Any, request: pytest.FixtureRequest) -> _Site:
    return _Site(server, f"t{abs(hash(request.node.nodeid))}")


def _runner(site: _Site, **extra: str) -> TestRunner:
    props = {
        "Hostname": "127.0.0.1",
        "Port": str(site.port),
        "Username": "camera",
        "Password": "secret",
        "Remote Path": site.root + "/images/${camera}",
        "Create Directory": "true",
        **extra,
    }
    return TestRunner(PutFTP, props)


def test_jpeg_arrives_byte_for_byte_with_its_url(ftp: _Site) -> None:
    runner = _runner(ftp)
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    runner.assert_all_transferred(PutFTP.SUCCESS, count=1)
    out = runner.transferred(PutFTP.SUCCESS)[0]
    assert (ftp.home / "images" / "porch" / "cat.jpg").read_bytes() == JPEG
    assert os.listdir(ftp.home / "images" / "porch") == ["cat.jpg"], "no dot file left"
    url = f"ftp://127.0.0.1:{ftp.port}{ftp.root}/images/porch/cat.jpg"
    assert out.attributes[REMOTE_URL] == url
    assert [e.transit_uri for e in runner.provenance_events() if e.event_type == "SEND"] == [url]


def _existing(ftp: _Site) -> Path:
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
    ids=["REPLACE", "NONE", "IGNORE", "FAIL", "REJECT"],
)
def test_conflict_resolution(ftp: _Site, strategy: str, relationship: str, expected: bytes) -> None:
    target = _existing(ftp)
    runner = _runner(ftp, **{"Conflict Resolution": strategy})
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    runner.assert_all_transferred(relationship, count=1)
    assert target.read_bytes() == expected
    assert sorted(os.listdir(target.parent)) == ["cat.jpg"]
    sent = "SEND" in runner.provenance_types()
    assert sent == (expected == JPEG)


def test_rename_picks_a_free_name(ftp: _Site) -> None:
    target = _existing(ftp)
    runner = _runner(ftp, **{"Conflict Resolution": "RENAME"})
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    out = runner.transferred(PutFTP.SUCCESS)[0]
    assert target.read_bytes() == b"old"
    assert (target.parent / "1.cat.jpg").read_bytes() == JPEG
    assert out.attributes[REMOTE_URL].endswith("/images/porch/1.cat.jpg")


def test_missing_directory_without_create_goes_to_failure(ftp: _Site) -> None:
    runner = _runner(ftp, **{"Create Directory": "false"})
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    out = runner.transferred(PutFTP.FAILURE)[0]
    assert "does not exist" in out.attributes["error.message"]
    assert out.penalized


def test_without_dot_rename_writes_in_place(ftp: _Site) -> None:
    runner = _runner(ftp, **{"Dot Rename": "false", "Remote Path": ftp.root})
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


def test_unreachable_server_fails_one_returns_the_rest_and_yields() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runner = TestRunner(
        PutFTP,
        {"Hostname": "127.0.0.1", "Port": str(port), "Username": "camera", "Password": "x"},
    )
    for index in range(20):
        runner.enqueue(JPEG, filename=f"cat{index}.jpg")
    runner.run(stop=False)
    (failed,) = runner.transferred(PutFTP.FAILURE)
    assert failed.penalized and failed.attributes["filename"] == "cat0.jpg"
    assert runner.queue_size() == 19, "the rest went back to the queue, untried"
    assert runner.context.yield_requested


def test_wrong_password_goes_to_failure(ftp: _Site) -> None:
    runner = _runner(ftp, Password="wrong")
    runner.enqueue(JPEG, filename="cat.jpg", camera="porch")
    runner.run()
    out = runner.transferred(PutFTP.FAILURE)[0]
    assert "530" in out.attributes["error.message"]


def _fetcher(site: _Site, **extra: str) -> TestRunner:
    props = {
        "Hostname": "127.0.0.1",
        "Port": str(site.port),
        "Username": "camera",
        "Password": "secret",
        "Remote File": site.root + "/in/${filename}",
        **extra,
    }
    return TestRunner(FetchFTP, props)


def test_fetch_reads_the_file_and_moves_it(ftp: _Site) -> None:
    (ftp.home / "in").mkdir()
    (ftp.home / "in" / "cat.jpg").write_bytes(JPEG)
    runner = _fetcher(
        ftp,
        **{"Completion Strategy": "Move File", "Move Destination Directory": ftp.root + "/done"},
    )
    runner.enqueue(b"", filename="cat.jpg")
    runner.enqueue(b"", filename="missing.jpg")
    runner.run()
    out = runner.transferred(FetchFTP.SUCCESS)[0]
    assert out.content == JPEG
    assert out.attributes["ftp.remote.filename"] == f"{ftp.root}/in/cat.jpg"
    assert out.attributes[REMOTE_URL] == f"ftp://127.0.0.1:{ftp.port}{ftp.root}/in/cat.jpg"
    assert (ftp.home / "done" / "cat.jpg").read_bytes() == JPEG
    assert not (ftp.home / "in" / "cat.jpg").exists()
    missing = runner.transferred(FetchFTP.NOT_FOUND)[0]
    assert "missing.jpg does not exist" in missing.attributes["error.message"]
    assert runner.provenance_types().count("FETCH") == 1


def test_fetch_from_unreachable_server_is_a_comms_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runner = TestRunner(
        FetchFTP,
        {"Hostname": "127.0.0.1", "Port": str(port), "Username": "u", "Remote File": "/x"},
    )
    runner.enqueue(b"keep", filename="x")
    runner.run()
    out = runner.transferred(FetchFTP.COMMS_FAILURE)[0]
    assert out.content == b"keep"
    assert out.penalized


def test_list_then_fetch_each_new_file_once(ftp: _Site) -> None:
    (ftp.home / "cams" / "porch").mkdir(parents=True)
    (ftp.home / "cams" / "porch" / "a.jpg").write_bytes(JPEG)
    (ftp.home / "cams" / "b.txt").write_bytes(b"notes")
    props = {
        "Hostname": "127.0.0.1",
        "Port": str(ftp.port),
        "Username": "camera",
        "Password": "secret",
        "Remote Path": ftp.root + "/cams",
        "Search Recursively": "true",
        "File Filter Regex": r".*\.jpg",
    }
    lister = TestRunner(ListFTP, props)
    lister.run(stop=False)
    listed = lister.transferred(ListFTP.SUCCESS)
    assert [f.attributes["filename"] for f in listed] == ["a.jpg"]
    assert listed[0].attributes["path"] == f"{ftp.root}/cams/porch"
    assert listed[0].attributes["file.size"] == str(len(JPEG))
    lister.run()
    assert len(lister.transferred(ListFTP.SUCCESS)) == 1, "listed once"

    fetcher = _fetcher(ftp, **{"Remote File": "${path}/${filename}"})
    fetcher.enqueue(b"", listed[0].attributes)
    fetcher.run()
    assert fetcher.transferred(FetchFTP.SUCCESS)[0].content == JPEG
