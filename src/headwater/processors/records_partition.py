"""PartitionRecord: group the records of a FlowFile by the values of some fields.

Grouping is one Arrow group-by over the keys with the row indices gathered per group,
then one ``take`` per group: no Python loop over records. Only the simplest RecordPath,
``/field`` (a top-level field by name), is supported; nested paths, predicates and
functions are refused at load time with a clear message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

import pyarrow as pa  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem
from headwater.processor import (
    DynamicProperty,
    InputRequirement,
    Processor,
    Relationship,
)
from headwater.processors.records import (
    READ_ERRORS,
    fail,
    reader_property,
    write_records,
    writer_property,
)
from headwater.services.records.api import RecordError

SIMPLE_PATH = re.compile(r"^/([^/\[\]()*]+)$")
"""The RecordPath subset supported: ``/field``."""

_ROW = "__headwater_row__"


def _render(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class PartitionRecord(Processor):
    """Splits the records of a FlowFile into groups that share the values of the fields
    named by the dynamic properties (RecordPaths); each group becomes a child FlowFile
    with each property's value as an attribute of its name.

    Only RecordPaths of the form ``/field`` (a top-level field) are supported.
    """

    tags = ("record", "partition", "recordpath", "rpath", "segment", "split", "group", "bin")
    input_requirement = InputRequirement.REQUIRED
    dynamic_property = DynamicProperty(
        "A RecordPath (``/field``); its value is the attribute of the property's name", False
    )

    SUCCESS = Relationship("success", "One FlowFile per distinct combination of values.")
    ORIGINAL = Relationship("original", "The original FlowFile, once partitioned.")
    FAILURE = Relationship(
        "failure", "FlowFiles that could not be read or written; see record.error.message."
    )

    reader = reader_property()
    writer = writer_property()

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        paths = {k: v for k, v in values.items() if cls.property_named(k) is None}
        if not paths:
            return [
                Problem(
                    "properties",
                    "needs at least one RecordPath (a dynamic property)",
                    "add e.g. host: /host",
                )
            ]
        return [
            Problem(
                f"properties.{name}",
                f"only RecordPaths of the form /field are supported, got {path!r}",
                "name a top-level field, e.g. /host",
            )
            for name, path in paths.items()
            if not SIMPLE_PATH.match(path.strip())
        ]

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader, writer = context[self.reader], context[self.writer]
        fields = {
            name: SIMPLE_PATH.match(value.raw.strip()).group(1)  # type: ignore[union-attr]
            for name, value in context.dynamic.items()
        }
        for ff in session.get_batch():
            try:
                table = reader.read(session.read(ff), ff.attributes)
                groups = self._groups(table, list(fields.values()))
                written = [(keys, part, writer.write(part, ff.attributes)) for keys, part in groups]
            except READ_ERRORS as exc:
                fail(context, session, ff, self.FAILURE, exc)
                continue
            fragment = {
                "fragment.identifier": str(uuid.uuid4()),
                "fragment.count": str(len(written)),
            }
            for index, (keys, part, data) in enumerate(written):
                extra = {**fragment, "fragment.index": str(index)}
                for name, key in zip(fields, keys, strict=True):
                    if key is not None:
                        extra[name] = key
                child = session.create(ff)
                session.transfer(
                    write_records(session, child, writer, part, data, extra), self.SUCCESS
                )
            session.transfer(ff, self.ORIGINAL)

    @staticmethod
    def _groups(table: pa.Table, fields: list[str]) -> list[tuple[list[str | None], pa.Table]]:
        """Each distinct combination of the fields' values, in order of first appearance,
        with its records."""
        missing = [f for f in dict.fromkeys(fields) if f not in table.column_names]
        if missing:
            raise RecordError("not in the records", field=missing[0])
        keys = list(dict.fromkeys(fields))
        indexed = table.select(keys).append_column(_ROW, pa.array(range(table.num_rows)))
        grouped = indexed.group_by(keys, use_threads=False).aggregate([(_ROW, "list")])
        rows = grouped.column(f"{_ROW}_list").to_pylist()
        order = sorted(range(len(rows)), key=lambda i: rows[i][0])
        values = {k: grouped.column(k).to_pylist() for k in keys}
        return [
            ([_render(values[f][i]) for f in fields], table.take(pa.array(rows[i]))) for i in order
        ]
