"""Where a request's image comes from, and each way that can fail (status and reason)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from headwater.models.serve.config import Inputs
from headwater.models.serve.inputs import ImageSource, InputError


def image(source: ImageSource, request: Any) -> bytes:
    return asyncio.run(source.image(request))


def refused(source: ImageSource, request: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        image(source, request)
    return caught.value


def test_base64_with_or_without_a_data_url_prefix() -> None:
    source = ImageSource(Inputs(max_bytes=100))
    encoded = base64.b64encode(b"\xff\xd8 an image").decode()
    assert image(source, {"image": encoded}) == b"\xff\xd8 an image"
    assert image(source, {"image": f"data:image/jpeg;base64,{encoded}"}) == b"\xff\xd8 an image"
    bad = refused(source, {"image": "not base64!"})
    assert bad.status == 400 and "not valid base64" in str(bad)
    large = refused(source, {"image": base64.b64encode(bytes(200)).decode()})
    assert large.status == 413


def test_a_request_without_an_image_says_what_it_needs() -> None:
    source = ImageSource(Inputs())
    assert refused(source, ["url"]).status == 400
    missing = refused(source, {"path": "/etc/passwd"})
    assert missing.status == 400 and "`url`" in str(missing)
    scheme = refused(source, {"url": "gopher://host/a.jpg"})
    assert scheme.status == 400 and "unsupported URL scheme 'gopher'" in str(scheme)


def test_file_urls_only_below_the_allowed_root(tmp_path: Path) -> None:
    root = tmp_path / "images"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"inside")
    (tmp_path / "secret.txt").write_bytes(b"outside")
    (root / "escape.jpg").symlink_to(tmp_path / "secret.txt")
    closed = refused(ImageSource(Inputs()), {"url": (root / "a.jpg").as_uri()})
    assert closed.status == 403 and "no inputs.allowed-root" in str(closed)

    source = ImageSource(Inputs(max_bytes=10, allowed_root=root))
    assert image(source, {"url": (root / "a.jpg").as_uri()}) == b"inside"
    for outside in (tmp_path / "secret.txt", root / "escape.jpg", root / ".." / "secret.txt"):
        found = refused(source, {"url": f"file://{outside}"})
        assert found.status == 403 and "outside the allowed root" in str(found)
    assert refused(source, {"url": (root / "none.jpg").as_uri()}).status == 422
    (root / "big.jpg").write_bytes(bytes(11))
    assert refused(source, {"url": (root / "big.jpg").as_uri()}).status == 413
    assert refused(source, {"url": "file://elsewhere/a.jpg"}).status == 400


def test_storage_options_by_the_longest_matching_prefix() -> None:
    options = {
        "ftp://cam": {"username": "any"},
        "ftp://cam.local:2121/": {"username": "camera"},
        "s3://": {"anon": True},
    }
    source = ImageSource(Inputs(storage_options=options))
    assert source._storage_options("ftp://cam.local:2121/a.jpg") == {"username": "camera"}
    assert source._storage_options("ftp://cam2/a.jpg") == {"username": "any"}
    assert source._storage_options("s3://bucket/a.jpg") == {"anon": True}
    assert source._storage_options("ftp://other/a.jpg") == {}


def test_an_unreachable_ftp_server_is_a_422_with_the_reason() -> None:
    source = ImageSource(Inputs(fetch_timeout=5))
    failed = refused(source, {"url": "ftp://127.0.0.1:1/a.jpg"})
    assert failed.status == 422 and "cannot read ftp://127.0.0.1:1/a.jpg" in str(failed)


def test_a_slow_http_server_is_cut_off_at_the_fetch_timeout() -> None:
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(40):  # a byte every 0.05 s: never idle long, never done
                try:
                    connection.sendall(b"x")
                except OSError:
                    return
                threading.Event().wait(0.05)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    source = ImageSource(Inputs(fetch_timeout=0.5))
    slow = refused(source, {"url": f"http://127.0.0.1:{port}/a.jpg"})
    assert slow.status == 422 and "took longer than 0.5 s" in str(slow)
    listener.close()
