"""A small HTML report for the seed's jobs: a title, a few facts, and tables.

Kept apart so each job writes the same plain page; it needs nothing but the standard
library (the jobs run as engine processes with whatever their Python has).
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def write(path: str, title: str, facts: dict[str, Any], sections: Sequence[str]) -> None:
    """Write the page to ``path`` (its folder made if needed)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    items = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(_cell(v))}</li>" for k, v in facts.items()
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{stamp}</p><ul>{items}</ul>"
        + "".join(sections)
        + "</body></html>"
    )
    staged = f"{path}.{os.getpid()}.tmp"
    with open(staged, "w", encoding="utf-8") as out:
        out.write(page)
    os.replace(staged, path)  # whole, even when runs overlap


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)
