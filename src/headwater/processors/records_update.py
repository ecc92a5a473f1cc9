"""UpdateRecord: set fields named by RecordPaths, a column at a time.

Each dynamic property is a RecordPath (the name; see
:mod:`headwater.services.records.recordpath` for the supported subset) and a
replacement. With ``literal-value`` the replacement is text with Expression Language,
evaluated once per FlowFile, unless it refers to ``field.value``, ``field.name``,
``field.type`` or ``record.index``: then it is evaluated for each value of the column
in one pass. With ``record-path-value`` the replacement (after Expression Language) is
a RecordPath whose one selected field is copied, as a whole column, into the targets.

As in NiFi: a path that selects nothing is skipped, except a plain child path whose
parent record exists, which adds the field; a replacement path that selects nothing
sets null, and one that selects several fields sends the FlowFile to failure. Under
``[*]`` a path holds one value per array element (``record.index`` is still the
record's); a per-record source copied into array elements is repeated for each.
Unlike NiFi, which sets every literal as a string and leaves the writer to coerce it,
an updated column keeps its type when all the new values cast to it (``/count`` =
``5`` stays a long), and becomes a string column otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem, ProcessException
from headwater.expression import compile_cached
from headwater.flowfile import FlowFile
from headwater.processor import DynamicProperty, InputRequirement, Processor, Property, Relationship
from headwater.processors.records import (
    READ_ERRORS,
    fail,
    reader_property,
    write_records,
    writer_property,
)
from headwater.services.records.api import RecordError
from headwater.services.records.recordpath import (
    ELEMENTS,
    FieldPath,
    RecordPath,
    column,
    field_type,
    render,
    set_column,
    slot_rows,
    slots,
)

LITERAL, RECORD_PATH = "literal-value", "record-path-value"
_FIELD_VARIABLES = ("field.value", "field.name", "field.type", "record.index")


class UpdateRecord(Processor):
    """Updates the records of each FlowFile: every dynamic property names fields with a
    RecordPath and gives their new value, a literal (with Expression Language, which may
    use field.value, field.name, field.type and record.index) or a RecordPath to copy."""

    tags = ("update", "record", "generic", "schema", "json", "csv", "avro", "log", "freeform")
    input_requirement = InputRequirement.REQUIRED
    dynamic_property = DynamicProperty(
        "A RecordPath (/field, /parent/child, //name, /parent/*, /array[*]/field) naming "
        "the fields to set; the value is the replacement, per Replacement Value Strategy",
        True,
    )

    SUCCESS = Relationship("success", "FlowFiles whose records were updated.")
    FAILURE = Relationship(
        "failure", "FlowFiles that could not be read, updated or written; see record.error.message."
    )

    reader = reader_property()
    writer = writer_property()
    strategy = Property(
        "replacement-value-strategy",
        "literal-value: the value (after Expression Language) is the new value; "
        "record-path-value: it is a RecordPath whose value is copied",
        display_name="Replacement Value Strategy",
        default=LITERAL,
        required=True,
        allowed=(LITERAL, RECORD_PATH),
    )

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        paths = {k: v for k, v in values.items() if cls.property_named(k) is None}
        if not paths:
            return [Problem("properties", "needs at least one RecordPath", "add e.g. /unit: C")]
        problems = []
        copying = values.get(cls.strategy.name) == RECORD_PATH
        for name, value in paths.items():
            texts = [name] + ([value] if copying and "${" not in value else [])
            for text in texts:
                try:
                    RecordPath.compile(text)
                except ValueError as exc:
                    problems.append(Problem(f"properties.{name}", str(exc)))
        return problems

    def on_scheduled(self, context: ProcessContext) -> None:
        self._paths = {name: RecordPath.compile(name) for name in context.dynamic}

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader, writer = context[self.reader], context[self.writer]
        copying = context[self.strategy] == RECORD_PATH
        for ff in session.get_batch():
            try:
                table = reader.read(session.read(ff), ff.attributes)
                for name, path in self._paths.items():
                    if copying:
                        table = self._copy(context, ff, table, name, path)
                    else:
                        table = self._literal(context, ff, table, name, path)
                data = writer.write(table, ff.attributes)
            except (ProcessException, *READ_ERRORS) as exc:
                fail(context, session, ff, self.FAILURE, exc)
                continue
            session.transfer(write_records(session, ff, writer, table, data), self.SUCCESS)

    def _literal(
        self, context: ProcessContext, ff: FlowFile, table: pa.Table, name: str, path: RecordPath
    ) -> pa.Table:
        value = context.dynamic[name]
        per_value = not value.is_constant and any(v in value.raw for v in _FIELD_VARIABLES)
        lookup = context.lookup(ff)
        once = None if per_value else value.evaluate(lookup)
        for target in path.targets(table.schema):
            kind = field_type(table.schema, target)
            rows = slot_rows(table, target)
            if once is not None:
                texts = pa.repeat(pa.scalar(once, pa.string()), len(rows))
            else:
                old = column(table, target) if kind is not None else None
                texts = pa.array(
                    _per_value(value.raw, lookup, target, kind, old, rows), pa.string()
                )
            table = set_column(table, target, _keep_type(texts, kind))
        return table

    def _copy(
        self, context: ProcessContext, ff: FlowFile, table: pa.Table, name: str, path: RecordPath
    ) -> pa.Table:
        text = context.dynamic[name].evaluate(context.lookup(ff))
        try:
            source = RecordPath.compile(text)
        except ValueError as exc:
            raise ProcessException(str(exc)) from None
        selected = source.select(table.schema)
        if len(selected) > 1:
            found = ", ".join(render(s) for s in selected)
            raise RecordError(f"RecordPath {text!r} selects {len(selected)} fields ({found})")
        for target in path.targets(table.schema):
            rows = slot_rows(table, target)
            if not selected:
                kind = field_type(table.schema, target) or pa.string()
                values = pa.nulls(len(rows), kind)
            elif not slots(selected[0]):  # one value per record: one per slot of the target
                values = column(table, selected[0]).take(rows)
            elif slots(selected[0]) == slots(target):
                values = column(table, selected[0])
            else:
                raise RecordError(
                    f"RecordPath {text!r} selects array elements that {path.text!r} does not hold"
                )
            table = set_column(table, target, values)
        return table


def _per_value(
    text: str,
    lookup: Mapping[str, str],
    target: FieldPath,
    kind: pa.DataType | None,
    old: pa.Array | None,
    rows: pa.Array,
) -> list[str]:
    """The expression evaluated for each value of the column, in one pass."""
    expression = compile_cached(text)
    values = old.to_pylist() if old is not None else [None] * len(rows)
    name = next(n for n in reversed(target) if n != ELEMENTS)
    variables = {"field.name": name, "field.type": nifi_type(kind)}
    out = []
    for value, row in zip(values, rows.to_pylist(), strict=True):
        variables["record.index"] = str(row)
        if value is None:
            variables.pop("field.value", None)
        else:
            variables["field.value"] = _text(value)
        out.append(str(expression.evaluate(_Overlay(variables, lookup))))
    return out


def _keep_type(texts: pa.Array, kind: pa.DataType | None) -> pa.Array:
    """``texts`` cast to the column's former type when every value casts, else text."""
    if kind is None or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return texts
    try:
        return pc.cast(texts, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return texts


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def nifi_type(kind: pa.DataType | None) -> str:
    """NiFi's RecordFieldType name for an Arrow type (``field.type``)."""
    if kind is None:
        return "STRING"
    checks = (
        (pa.types.is_boolean, "BOOLEAN"),
        (pa.types.is_int8, "BYTE"),
        (pa.types.is_int16, "SHORT"),
        (pa.types.is_int32, "INT"),
        (pa.types.is_integer, "LONG"),
        (pa.types.is_float32, "FLOAT"),
        (pa.types.is_floating, "DOUBLE"),
        (pa.types.is_decimal, "DECIMAL"),
        (pa.types.is_timestamp, "TIMESTAMP"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_time, "TIME"),
        (pa.types.is_struct, "RECORD"),
        (pa.types.is_map, "MAP"),
        (pa.types.is_list, "ARRAY"),
        (pa.types.is_large_list, "ARRAY"),
        (pa.types.is_binary, "ARRAY"),
    )
    return next((name for check, name in checks if check(kind)), "STRING")


class _Overlay(Mapping[str, str]):
    """The field variables over the FlowFile's attributes, for one evaluation."""

    __slots__ = ("_base", "_top")

    def __init__(self, top: Mapping[str, str], base: Mapping[str, str]) -> None:
        self._top, self._base = top, base

    def __getitem__(self, key: str) -> str:
        if key in self._top:
            return self._top[key]
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        return key in self._top or key in self._base

    def __iter__(self) -> Iterator[str]:
        yield from self._top
        yield from (k for k in self._base if k not in self._top)

    def __len__(self) -> int:
        return sum(1 for _ in self)
