"""Small parsers the sub-commands share."""

from __future__ import annotations

from collections.abc import Iterable


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``name=value`` pairs from repeated command-line options."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"expected NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or just ``PORT``, on 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise SystemExit(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)
