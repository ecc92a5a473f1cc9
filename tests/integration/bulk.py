"""Enqueue many FlowFiles in one repository commit: what TestRunner.enqueue does one
FlowFile (and one fsync) at a time, for the tests that move 10,000 of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from headwater.flowfile import FlowFile, now_millis
from headwater.testing import TestRunner


def enqueue_many(runner: TestRunner, items: Iterable[tuple[bytes, Mapping[str, str]]]) -> None:
    repos = runner.repositories
    flowfiles = []
    writer = repos.content.acquire_writer()
    try:
        for data, attributes in items:
            ff = FlowFile.create(dict(attributes))
            if data:
                ff.claim, ff.offset, ff.size = writer.claim, writer.append(data), len(data)
            flowfiles.append(ff)
        writer.flush()
    finally:
        repos.content.release_writer(writer)
    now = now_millis()
    for ff, seq in zip(flowfiles, repos.flowfiles.next_seqs(len(flowfiles)), strict=True):
        ff.seq, ff.queued_at = seq, now
    repos.flowfiles.commit([repos.flowfiles.row(runner.input.id, ff) for ff in flowfiles], [])
    repos.content.adjust(dict(Counter(ff.claim for ff in flowfiles)))
    runner.input.put_all(flowfiles)
