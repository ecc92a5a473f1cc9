"""PartitionRecord: group the records of a FlowFile by the values of some fields.

Grouping is one Arrow group-by over the keys with the row indices gathered per group,
then one ``take`` per group: no Python loop over records. A RecordPath of the subset in
:mod:`headwater.services.records.recordpath` that selects one value per record
(``/host``, ``/location/city``, ``//city``) names each key; paths into arrays select
several values per record and send the FlowFile to failure, as NiFi does.
"""

from __future__ import annotations

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
from headwater.services.records import recordpath
from headwater.services.records.api import RecordError
from headwater.services.records.recordpath import RecordPath

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
    with each property's value as an attribute of its name."""

    tags = ("record", "partition", "recordpath", "rpath", "segment", "split", "group", "bin")
    input_requirement = InputRequirement.REQUIRED
    dynamic_property = DynamicProperty(
        "A RecordPath (``/host``, ``/location/city``); its value is the attribute of the"
        " property's name",
        False,
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
        problems = []
        for name, path in paths.items():
            try:
                RecordPath.compile(path)
            except ValueError as exc:
                problems.append(Problem(f"properties.{name}", str(exc), "e.g. /host"))
        return problems

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader, writer = context[self.reader], context[self.writer]
        paths = {name: RecordPath.compile(value.raw) for name, value in context.dynamic.items()}
        for ff in session.get_batch():
            try:
                table = reader.read(session.read(ff), ff.attributes)
                groups = self._groups(table, list(paths.values()))
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
                for name, key in zip(paths, keys, strict=True):
                    if key is not None:
                        extra[name] = key
                child = session.create(ff)
                session.transfer(
                    write_records(session, child, writer, part, data, extra), self.SUCCESS
                )
            session.transfer(ff, self.ORIGINAL)

    @staticmethod
    def _groups(
        table: pa.Table, paths: list[RecordPath]
    ) -> list[tuple[list[str | None], pa.Table]]:
        """Each distinct combination of the paths' values, in order of first appearance,
        with its records."""
        keys = {path.text: _key_column(table, path) for path in paths}
        indexed = pa.table({**keys, _ROW: pa.array(range(table.num_rows))})
        grouped = indexed.group_by(list(keys), use_threads=False).aggregate([(_ROW, "list")])
        rows = grouped.column(f"{_ROW}_list").to_pylist()
        order = sorted(range(len(rows)), key=lambda i: rows[i][0])
        values = {k: grouped.column(k).to_pylist() for k in keys}
        return [
            ([_render(values[p.text][i]) for p in paths], table.take(pa.array(rows[i])))
            for i in order
        ]


def _key_column(table: pa.Table, path: RecordPath) -> pa.Array:
    """The one value per record that ``path`` selects."""
    selected = path.select(table.schema)
    if not selected:
        raise RecordError(f"RecordPath {path.text} selects no field of the records")
    if len(selected) > 1 or recordpath.ELEMENTS in selected[0]:
        raise RecordError(
            f"RecordPath {path.text} selects several values per record; a partition key "
            "must be one value"
        )
    values = recordpath.column(table, selected[0])
    if pa.types.is_struct(values.type) or pa.types.is_list(values.type):
        raise RecordError(f"RecordPath {path.text} selects a record or an array, not a value")
    return values
