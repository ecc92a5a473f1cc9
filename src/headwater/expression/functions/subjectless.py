"""Functions without a subject: ``literal``, ``UUID``, ``hostname``, ``ip``, ``nextInt``,
``thread``, ``getStateValue``. (``now`` is with the dates, ``random`` and ``math`` with
the numbers.)"""

from __future__ import annotations

import itertools
import socket
import threading
import uuid
from functools import lru_cache
from urllib.parse import quote

from headwater.expression.functions.registry import Arg, Subject, fn, register
from headwater.expression.values import Evaluator, to_str

STATE_PREFIX = "\x00state:"
"""Where a stateful processor's lookup answers ``getStateValue(name)`` (a key no
attribute can have), so state needs no second evaluation context."""

_COUNTER = itertools.count()
_COUNTER_LOCK = threading.Lock()


def next_int() -> int:
    """A one-up number shared by every expression in the process, from 0."""
    with _COUNTER_LOCK:
        return next(_COUNTER)


@lru_cache(maxsize=2)
def hostname(qualified: bool = False) -> str:
    name = socket.gethostname()
    if not qualified:
        return name.split(".")[0]
    try:
        return socket.getfqdn(name) or name
    except OSError:
        return name


@lru_cache(maxsize=1)
def ip() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _state_value(subject: Evaluator | None, args: list[Evaluator]) -> Evaluator:
    (name,) = args
    return lambda lookup: lookup.get(STATE_PREFIX + (to_str(name(lookup)) or ""))


register(
    fn("literal", lambda value: value, Arg.ANY, subject=Subject.NONE),
    fn("UUID", lambda: str(uuid.uuid4()), subject=Subject.NONE, pure=False),
    fn("hostname", hostname, Arg.BOOLEAN, optional=1, subject=Subject.NONE, pure=False),
    fn("ip", ip, subject=Subject.NONE, pure=False),
    fn("nextInt", next_int, subject=Subject.NONE, pure=False),
    fn("thread", lambda: threading.current_thread().name, subject=Subject.NONE, pure=False),
    # the value a stateful UpdateAttribute stored for a variable; null outside one
    fn("getStateValue", None, Arg.STRING, subject=Subject.NONE, build=_state_value, pure=False),  # type: ignore[arg-type]
)


def get_uri(
    scheme: object,
    user_info: object,
    host: object,
    port: object,
    path: object,
    query: object,
    fragment: object,
) -> str:
    """``new java.net.URI(scheme, userInfo, host, port, path, query, fragment)``; null or -1
    leaves a component out, and characters illegal in a component are percent-encoded."""
    legal = "!$&'()*+,;=:@-._~"
    parts: list[str] = []
    if scheme is not None:
        parts.append(f"{scheme}:")
    if host is not None:
        parts.append("//")
        if user_info is not None:
            parts.append(quote(str(user_info), safe=legal) + "@")
        parts.append(str(host))
        if port is not None and str(port) != "-1":
            parts.append(f":{port}")
    if path is not None:
        parts.append(quote(str(path), safe=legal + "/"))
    if query is not None:
        parts.append("?" + quote(str(query), safe=legal + "/?"))
    if fragment is not None:
        parts.append("#" + quote(str(fragment), safe=legal + "/?"))
    return "".join(parts)


register(fn("getUri", get_uri, *([Arg.ANY] * 7), subject=Subject.NONE))
