"""The FTP store: what is put by ftp:// (with the generated login) is on disk, and back."""

from __future__ import annotations

import ftplib
from pathlib import Path

import fsspec
import pytest

from headwater.stack.ftp import FtpStore


def test_roundtrip_through_fsspec(tmp_path: Path) -> None:
    root = tmp_path / "ftp"
    with FtpStore(root, "headwater", "s3cret") as store:
        fs = fsspec.filesystem(
            "ftp", host=store.host, port=store.port, username="headwater", password="s3cret"
        )
        fs.makedirs("/images", exist_ok=True)
        with fs.open("/images/bog_image_1.jpg", "wb") as stream:
            stream.write(b"\xff\xd8jpeg")
        assert (root / "images" / "bog_image_1.jpg").read_bytes() == b"\xff\xd8jpeg"
        with fs.open("/images/bog_image_1.jpg", "rb") as stream:
            assert stream.read() == b"\xff\xd8jpeg"
        assert store.url == f"ftp://127.0.0.1:{store.port}"


def test_a_wrong_password_is_refused(tmp_path: Path) -> None:
    with FtpStore(tmp_path, "headwater", "s3cret") as store:
        client = ftplib.FTP()
        client.connect("127.0.0.1", store.port, timeout=5)
        with pytest.raises(ftplib.error_perm):
            client.login("headwater", "wrong")
        client.close()


def test_stop_closes_the_port(tmp_path: Path) -> None:
    store = FtpStore(tmp_path, "u", "p")
    store.start()
    port = store.port
    store.stop()
    with pytest.raises(OSError):
        ftplib.FTP().connect("127.0.0.1", port, timeout=2)


def test_a_port_in_use_is_named_with_what_to_do(tmp_path: Path) -> None:
    with FtpStore(tmp_path / "a", "headwater", "s3cret") as first:
        taken = first.port
        with pytest.raises(OSError, match=rf"127\.0\.0\.1:{taken} .*--ftp-port"):
            FtpStore(tmp_path / "b", "headwater", "s3cret", port=taken)
