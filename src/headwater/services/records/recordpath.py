"""A subset of NiFi's RecordPath, evaluated against Arrow schemas, a column at a time.

Supported, as in NiFi:

- ``/field``: a top-level field of the record;
- ``/parent/child``: a field of a nested record (an Arrow struct), at any depth;
- ``//name``: every field called ``name`` at any depth (descendant);
- ``/parent/*``: every field of a record (wildcard);
- ``/readings[*]``: every element of an array, ``/readings[*]/temp`` a field of every
  record in an array.

Not supported, and refused when compiled with a message that says so: array indices
(``[0]``), map keys (``['key']``), predicates (``[./x = 'y']``), functions
(``substring(...)``), and relative paths (``.``, ``..``).

A path resolves against a schema to field paths (tuples of names). Values are read as
whole Arrow arrays (a null parent record makes its children null) and written back by
rebuilding the enclosing structs, so a processor never loops over records to apply one.

    >>> import pyarrow as pa
    >>> table = pa.table({"id": [1, 2], "geo": [{"lat": 1.0}, {"lat": 2.0}]})
    >>> RecordPath.compile("//lat").select(table.schema)
    [('geo', 'lat')]
    >>> set_column(table, ("geo", "lon"), pa.array([3.0, 4.0])).column("geo").to_pylist()
    [{'lat': 1.0, 'lon': 3.0}, {'lat': 2.0, 'lon': 4.0}]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

FieldPath = tuple[str, ...]
"""Names from the root record down to one field; ``[*]`` steps into array elements."""

ELEMENTS = "[*]"
_STEP = re.compile(r"(//|/)(\*|[^/\[\]()'\"*=<>!\s.][^/\[\]()'\"*=<>!\s]*)(\[\*\])?")
_UNSUPPORTED = (
    ("[", "array indices, map keys and predicates ([...]) are not supported, only [*]"),
    ("(", "RecordPath functions are not supported"),
    ("/.", "relative steps (. and ..) are not supported"),
)


@dataclass(frozen=True)
class Step:
    axis: str  # "child" or "descendant"
    name: str  # a field name, or "*"
    elements: bool = False  # followed by [*]


@dataclass(frozen=True)
class RecordPath:
    """A compiled RecordPath of the supported subset."""

    text: str
    steps: tuple[Step, ...]

    @classmethod
    def compile(cls, text: str) -> RecordPath:
        """Compile ``text``; ``ValueError`` names what is wrong or not supported."""
        source = text.strip()
        for marker, reason in _UNSUPPORTED:
            if marker in source.replace(ELEMENTS, ""):
                raise ValueError(f"RecordPath {text!r}: {reason} (see the supported subset)")
        if not source.startswith("/"):
            raise ValueError(f"RecordPath {text!r} must be absolute, starting with / or //")
        steps: list[Step] = []
        position = 0
        while position < len(source):
            match = _STEP.match(source, position)
            if match is None:
                raise ValueError(f"RecordPath {text!r}: cannot read it from column {position + 1}")
            axis = "descendant" if match.group(1) == "//" else "child"
            steps.append(Step(axis, match.group(2), match.group(3) is not None))
            position = match.end()
        return cls(source, tuple(steps))

    @property
    def is_simple(self) -> bool:
        """Child steps with names only (``[*]`` but on the last): a path that can name
        a field not there yet."""
        steps = self.steps
        return all(s.axis == "child" and s.name != "*" for s in steps) and not steps[-1].elements

    def select(self, schema: pa.Schema) -> list[FieldPath]:
        """The existing fields this path selects, in schema order."""
        nodes: list[tuple[FieldPath, pa.DataType]] = [((), pa.struct(list(schema)))]
        for step in self.steps:
            found: list[tuple[FieldPath, pa.DataType]] = []
            for path, kind in nodes:
                candidates = _children(path, kind)
                if step.axis == "descendant":
                    candidates = _descendants(path, kind)
                found += [(p, t) for p, t in candidates if step.name in ("*", p[-1])]
            if step.elements:
                found = [((*p, ELEMENTS), t.value_type) for p, t in found if _is_list(t)]
            nodes = list(dict.fromkeys(found))
        return [path for path, _ in nodes]

    def targets(self, schema: pa.Schema) -> list[FieldPath]:
        """The fields an update writes: the selected ones, or for a simple path whose
        parent record exists, the one field it names (added when written, as NiFi adds
        a field that a path names and the record lacks)."""
        selected = self.select(schema)
        if selected or not self.is_simple:
            return selected
        path: list[str] = []
        for step in self.steps:
            path += [step.name, ELEMENTS] if step.elements else [step.name]
        if len(path) == 1 or isinstance(field_type(schema, tuple(path[:-1])), pa.StructType):
            return [tuple(path)]
        return []


def _is_list(kind: pa.DataType) -> bool:
    return isinstance(kind, (pa.ListType, pa.LargeListType))


def _children(path: FieldPath, kind: pa.DataType) -> list[tuple[FieldPath, pa.DataType]]:
    if not isinstance(kind, pa.StructType):
        return []
    return [((*path, kind.field(i).name), kind.field(i).type) for i in range(kind.num_fields)]


def _descendants(path: FieldPath, kind: pa.DataType) -> list[tuple[FieldPath, pa.DataType]]:
    found = []
    for child_path, child_type in _children(path, kind):
        found.append((child_path, child_type))
        while _is_list(child_type):  # records inside arrays are descendants too
            child_path, child_type = (*child_path, ELEMENTS), child_type.value_type
        found += _descendants(child_path, child_type)
    return found


def field_type(schema: pa.Schema, path: FieldPath) -> pa.DataType | None:
    """The type of the field at ``path``, or None when there is no such field."""
    kind: pa.DataType = pa.struct(list(schema))
    for name in path:
        if name == ELEMENTS:
            if not _is_list(kind):
                return None
            kind = kind.value_type
        elif not isinstance(kind, pa.StructType) or kind.get_field_index(name) < 0:
            return None
        else:
            kind = kind.field(name).type
    return kind


def column(table: pa.Table, path: FieldPath) -> pa.Array:
    """The values of the field at ``path`` as one array; null where a parent is null.
    Under ``[*]`` there is one value per array element, not per record."""
    return column_rows(table, path)[0]


def column_rows(table: pa.Table, path: FieldPath) -> tuple[pa.Array, pa.Array]:
    """The values of the field at ``path`` and, for each, the index of its record."""
    values = table.column(path[0]).combine_chunks()
    rows = pa.array(range(len(values)), pa.int64())
    for name in path[1:]:
        if name == ELEMENTS:
            rows = rows.take(pc.list_parent_indices(values))
            values = values.flatten()
        else:
            values = values.flatten()[values.type.get_field_index(name)]
    return values, rows


def render(path: FieldPath) -> str:
    """``path`` as RecordPath text: ``('r', '[*]', 't')`` is ``/r[*]/t``."""
    return "".join(name if name == ELEMENTS else f"/{name}" for name in path)


def slots(path: FieldPath) -> FieldPath:
    """The part of ``path`` that decides how many values it holds: up to its last
    ``[*]``, or nothing (one value per record)."""
    cut = max((i + 1 for i, name in enumerate(path) if name == ELEMENTS), default=0)
    return path[:cut]


def slot_rows(table: pa.Table, path: FieldPath) -> pa.Array:
    """For each value the field at ``path`` holds (or would hold), its record's index."""
    prefix = slots(path)
    if not prefix:
        return pa.array(range(table.num_rows), pa.int64())
    return column_rows(table, prefix)[1]


def set_column(table: pa.Table, path: FieldPath, values: pa.Array) -> pa.Table:
    """``table`` with the field at ``path`` set to ``values`` (its type follows the
    values), added when missing; enclosing structs and arrays are rebuilt, their nulls
    kept. Under ``[*]``, ``values`` has one value per element, as :func:`column` reads."""
    name = path[0]
    if len(path) > 1:
        values = _set(table.column(name).combine_chunks(), path[1:], values)
    field = pa.field(name, values.type)
    index = table.schema.get_field_index(name)
    if index < 0:
        return table.append_column(field, values)
    return table.set_column(index, field, values)


def _set(parent: pa.Array, path: FieldPath, values: pa.Array) -> pa.Array:
    """``parent`` (a struct, or an array for ``[*]``) with ``path`` in it set."""
    mask = parent.is_null() if parent.null_count else None
    if path[0] == ELEMENTS:
        inner = parent.flatten()
        if len(path) > 1:
            values = _set(inner, path[1:], values)
        if len(values) != len(inner):
            raise ValueError(f"{len(values)} values for {len(inner)} array elements")
        large = isinstance(parent.type, pa.LargeListType)
        width = pa.int64() if large else pa.int32()
        lengths = pc.fill_null(pc.list_value_length(parent), 0)
        offsets = pa.concat_arrays([pa.array([0], width), pc.cumulative_sum(lengths).cast(width)])
        build = pa.LargeListArray if large else pa.ListArray
        return build.from_arrays(offsets, values, mask=mask)
    kind: pa.StructType = parent.type
    fields = [kind.field(i) for i in range(kind.num_fields)]
    children = [parent.field(i) for i in range(kind.num_fields)]
    index = kind.get_field_index(path[0])
    if index < 0 and len(path) > 1:
        raise ValueError(f"no record {path[0]!r} to set {'/'.join(path[1:])!r} in")
    if len(path) > 1:
        values = _set(children[index], path[1:], values)
    field = pa.field(path[0], values.type)
    if index < 0:
        fields.append(field)
        children.append(values)
    else:
        fields[index], children[index] = field, values
    return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
