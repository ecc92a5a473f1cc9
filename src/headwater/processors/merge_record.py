"""MergeRecord: the records of many FlowFiles into one, written once.

Bins are packed as MergeContent packs them (``merge.py``), counting records rather
than FlowFiles. Each FlowFile is read into an Arrow table with the record reader; the
tables of a bin are concatenated (schemas promoted, so a field one input lacks is
null, and an int widens to a double) and written once with the record writer.
"""

from __future__ import annotations

import pyarrow as pa  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile, shared_attributes
from headwater.processor import Property
from headwater.processors.merge import BIN_PACKING, TAKE_LIMIT, AbstractMerge, bin_limits
from headwater.services.records import RecordError, RecordReaderFactory, RecordSetWriterFactory

_Rows = tuple[pa.Table, int, int]
"""A FlowFile's records: a table, and the start and count of its rows in it."""
READ_BYTES = 16 * 1024 * 1024
"""FlowFiles are read and parsed in groups of about this much content."""


def _bin_table(parts: list[_Rows]) -> pa.Table:
    """The records of a bin: FlowFiles read together and binned in queue order lie in a
    row of one table, so each run of them is one slice; runs from different reads are
    concatenated, with promotion."""
    runs: list[_Rows] = []
    for table, first, count in parts:
        if runs and runs[-1][0] is table and runs[-1][1] + runs[-1][2] == first:
            runs[-1] = (table, runs[-1][1], runs[-1][2] + count)
        else:
            runs.append((table, first, count))
    slices = [table.slice(first, count) for table, first, count in runs]
    if len(slices) == 1:
        return slices[0]
    return pa.concat_tables(slices, promote_options="permissive")


class MergeRecord(AbstractMerge):
    """Merges the records of many FlowFiles into one FlowFile, in bins by correlation
    attribute, record count, size and age; a FlowFile that cannot be read goes to
    ``failure`` with ``record.error.message``."""

    tags = ("merge", "record", "content", "bin", "arrow")

    reader = Property[RecordReaderFactory](
        "record-reader",
        "Reads the records of each incoming FlowFile",
        display_name="Record Reader",
        required=True,
        service=RecordReaderFactory,
    )
    writer = Property[RecordSetWriterFactory](
        "record-writer",
        "Writes the merged records",
        display_name="Record Writer",
        required=True,
        service=RecordSetWriterFactory,
    )
    merge_strategy = Property(
        "merge-strategy",
        "How FlowFiles are put into bins (Defragment is not supported yet)",
        display_name="Merge Strategy",
        default=BIN_PACKING,
        required=True,
        allowed=(BIN_PACKING,),
    )
    correlation = Property(
        "correlation-attribute-name",
        "FlowFiles with different values of this attribute are never merged together",
        display_name="Correlation Attribute Name",
    )
    min_entries, max_entries, min_size, max_size, max_age, max_bins = bin_limits(
        ("min-records", "max-records", "min-bin-size", "max-bin-size", "max-bin-age",
         "max.bin.count"),
        "10",
    )  # fmt: skip

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        limits = self.limits(context)
        taken = session.get_batch(min(limits.max_entries * limits.max_bins, TAKE_LIMIT))
        if not taken:
            return
        reader, writer = context[self.reader], context[self.writer]
        rows, readable = self._read(context, session, reader, taken)
        for ready in self.merge_bins(context, session, readable, lambda ff: rows[ff.uuid][2]):
            parents = ready.flowfiles
            shared = shared_attributes(parents)
            try:
                table = _bin_table([rows[ff.uuid] for ff in parents])
                data = writer.write(table, shared)
            except (RecordError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                self._fail(context, session, parents, f"cannot merge the bin: {exc}")
                continue
            self.finish(context, session, ready, data, writer.attributes_for(table, shared))

    def _read(
        self,
        context: ProcessContext,
        session: ProcessSession,
        reader: RecordReaderFactory,
        taken: list[FlowFile],
    ) -> tuple[dict[str, _Rows], list[FlowFile]]:
        """Each FlowFile's rows, parsed ``READ_BYTES`` of content at a time: one parse
        per group keeps pyarrow's fixed cost off each FlowFile, and groups keep the
        buffers small (a trigger may take a gigabyte; one buffer of it was slower to
        build than to parse)."""
        rows: dict[str, _Rows] = {}
        readable: list[FlowFile] = []
        group: list[FlowFile] = []
        size = 0
        for ff in taken:
            group.append(ff)
            size += ff.size
            if size >= READ_BYTES:
                readable += self._read_group(context, session, reader, group, rows)
                group, size = [], 0
        if group:
            readable += self._read_group(context, session, reader, group, rows)
        return rows, readable

    def _read_group(
        self,
        context: ProcessContext,
        session: ProcessSession,
        reader: RecordReaderFactory,
        group: list[FlowFile],
        rows: dict[str, _Rows],
    ) -> list[FlowFile]:
        """The group's rows into ``rows``: all parsed at once (``read_many``) or, when
        one does not fit, one at a time so that only the FlowFiles that do not fit fail."""
        contents = session.read_many(group)
        try:
            table, counts = reader.read_many(contents, [ff.attributes for ff in group])
        except (RecordError, pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        else:
            start = 0
            for ff, count in zip(group, counts, strict=True):
                rows[ff.uuid] = (table, start, count)
                start += count
            return group
        readable = []
        for ff, data in zip(group, contents, strict=True):
            try:
                one = reader.read(data, ff.attributes)
            except RecordError as exc:
                self._fail(context, session, [ff], str(exc))
                continue
            rows[ff.uuid] = (one, 0, one.num_rows)
            readable.append(ff)
        return readable

    def _fail(
        self,
        context: ProcessContext,
        session: ProcessSession,
        flowfiles: list[FlowFile],
        reason: str,
    ) -> None:
        for ff in flowfiles:
            context.logger.warning("routing %s to failure: %s", ff.uuid, reason)
            session.transfer(
                session.put_attribute(ff, "record.error.message", reason), self.FAILURE
            )
