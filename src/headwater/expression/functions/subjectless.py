"""Functions without a subject: ``literal``, ``UUID``, ``hostname``, ``ip``, ``nextInt``,
``thread``. (``now`` is with the dates, ``random`` and ``math`` with the numbers.)"""

from __future__ import annotations

import itertools
import socket
import threading
import uuid
from functools import lru_cache

from headwater.expression.functions.registry import Arg, Subject, fn, register

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


register(
    fn("literal", lambda value: value, Arg.ANY, subject=Subject.NONE),
    fn("UUID", lambda: str(uuid.uuid4()), subject=Subject.NONE, pure=False),
    fn("hostname", hostname, Arg.BOOLEAN, optional=1, subject=Subject.NONE, pure=False),
    fn("ip", ip, subject=Subject.NONE, pure=False),
    fn("nextInt", next_int, subject=Subject.NONE, pure=False),
    fn("thread", lambda: threading.current_thread().name, subject=Subject.NONE, pure=False),
)
