"""HubClient against a scripted HTTP/1.1 server on 127.0.0.1: bodies by length and by
chunks, kept-alive connections reused, a connection the hub closed while idle replaced,
and every failure a HubUnreachable."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from headwater.s2s.hubhttp import HubClient, HubUnreachable

Answer = Callable[[bytes], bytes | None]  # a request's bytes -> the raw answer (None: close)


class ScriptedServer:
    """Accepts connections and answers each request with ``answer``; counts connections."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(data) < length:
                    data += conn.recv(65536)
                body, data = data[:length], data[length:]
                raw = self.answer(head + b"\r\n\r\n" + body)
                if raw is None:
                    return
                conn.sendall(raw)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Answer], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(answer: Answer) -> ScriptedServer:
        servers.append(ScriptedServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def echo(request: bytes) -> bytes:
    body = request.partition(b"\r\n\r\n")[2]
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_bodies_by_length_and_by_chunks_on_one_kept_alive_connection(
    scripted: Callable[[Answer], ScriptedServer],
) -> None:
    def answer(request: bytes) -> bytes:
        if request.startswith(b"DELETE /chunked?responseCode=12"):
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\n\r\n"
        return echo(request)

    server = scripted(answer)
    client = HubClient({"Authorization": "Bearer t"}, timeout=5)
    base = f"http://127.0.0.1:{server.port}"
    assert client.post(f"{base}/x", content=b"stream").content == b"stream"
    assert client.post(f"{base}/x", json_body={"a": 1}).json() == {"a": 1}
    assert client.delete(f"{base}/chunked", params={"responseCode": 12}).text == "wiki"
    assert server.connections == 1
    client.close()


def test_a_connection_closed_while_idle_is_replaced_once(
    scripted: Callable[[Answer], ScriptedServer],
) -> None:
    answers = iter([echo, lambda request: None, echo])  # the second request finds it closed
    server = scripted(lambda request: next(answers)(request))
    client = HubClient({}, timeout=5)
    url = f"http://127.0.0.1:{server.port}/x"
    assert client.post(url, content=b"one").content == b"one"
    assert client.post(url, content=b"two").content == b"two"
    assert server.connections == 2


def test_failures_are_hub_unreachable(scripted: Callable[[Answer], ScriptedServer]) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    client = HubClient({}, timeout=0.5)
    with pytest.raises(HubUnreachable, match="ConnectionRefused"):
        client.post(f"http://127.0.0.1:{port}/x")
    silent = scripted(lambda request: b"")  # reads the request, never answers
    with pytest.raises(HubUnreachable, match="timed out"):
        client.post(f"http://127.0.0.1:{silent.port}/x")
    garbage = scripted(lambda request: b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(HubUnreachable, match=r"not an HTTP/1\.x response"):
        client.post(f"http://127.0.0.1:{garbage.port}/x")
