"""A subset of NiFi's RecordPath, evaluated against Arrow schemas, a column at a time.

Supported, as in NiFi:

- ``/field``: a top-level field of the record;
- ``/parent/child``: a field of a nested record (an Arrow struct), at any depth;
- ``//name``: every field called ``name`` at any depth (descendant);
- ``/parent/*``: every field of a record (wildcard).

Not supported, and refused when compiled with a message that says so: array indices
and ``[*]``, map keys (``['key']``), predicates (``[./x = 'y']``), functions
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

FieldPath = tuple[str, ...]
"""Names from the root record down to one field."""

_STEP = re.compile(r"(//|/)(\*|[^/\[\]()'\"*=<>!\s.][^/\[\]()'\"*=<>!\s]*)")
_UNSUPPORTED = (
    ("[", "array indices, map keys and predicates ([...]) are not supported"),
    ("(", "RecordPath functions are not supported"),
    ("/.", "relative steps (. and ..) are not supported"),
)


@dataclass(frozen=True)
class Step:
    axis: str  # "child" or "descendant"
    name: str  # a field name, or "*"


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
            if marker in source:
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
            steps.append(Step(axis, match.group(2)))
            position = match.end()
        return cls(source, tuple(steps))

    @property
    def is_simple(self) -> bool:
        """Child steps with names only: a path that can name a field not there yet."""
        return all(s.axis == "child" and s.name != "*" for s in self.steps)

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
            nodes = list(dict.fromkeys(found))
        return [path for path, _ in nodes]

    def targets(self, schema: pa.Schema) -> list[FieldPath]:
        """The fields an update writes: the selected ones, or for a simple path whose
        parent record exists, the one field it names (added when written, as NiFi adds
        a field that a path names and the record lacks)."""
        selected = self.select(schema)
        if selected or not self.is_simple:
            return selected
        path = tuple(s.name for s in self.steps)
        if len(path) == 1 or isinstance(field_type(schema, path[:-1]), pa.StructType):
            return [path]
        return []


def _children(path: FieldPath, kind: pa.DataType) -> list[tuple[FieldPath, pa.DataType]]:
    if not isinstance(kind, pa.StructType):
        return []
    return [((*path, kind.field(i).name), kind.field(i).type) for i in range(kind.num_fields)]


def _descendants(path: FieldPath, kind: pa.DataType) -> list[tuple[FieldPath, pa.DataType]]:
    found = []
    for child in _children(path, kind):
        found.append(child)
        found += _descendants(*child)
    return found


def field_type(schema: pa.Schema, path: FieldPath) -> pa.DataType | None:
    """The type of the field at ``path``, or None when there is no such field."""
    kind: pa.DataType = pa.struct(list(schema))
    for name in path:
        if not isinstance(kind, pa.StructType) or kind.get_field_index(name) < 0:
            return None
        kind = kind.field(name).type
    return kind


def column(table: pa.Table, path: FieldPath) -> pa.Array:
    """The values of the field at ``path`` as one array; null where a parent is null."""
    values = table.column(path[0]).combine_chunks()
    for name in path[1:]:
        index = values.type.get_field_index(name)
        values = values.flatten()[index]
    return values


def set_column(table: pa.Table, path: FieldPath, values: pa.Array) -> pa.Table:
    """``table`` with the field at ``path`` set to ``values`` (its type follows the
    values), added when missing; enclosing structs are rebuilt, their nulls kept."""
    name = path[0]
    if len(path) > 1:
        parent = table.column(name).combine_chunks()
        values = _set_child(parent, path[1:], values)
    field = pa.field(name, values.type)
    index = table.schema.get_field_index(name)
    if index < 0:
        return table.append_column(field, values)
    return table.set_column(index, field, values)


def _set_child(struct: pa.StructArray, path: FieldPath, values: pa.Array) -> pa.StructArray:
    kind: pa.StructType = struct.type
    fields = [kind.field(i) for i in range(kind.num_fields)]
    children = [struct.field(i) for i in range(kind.num_fields)]
    index = kind.get_field_index(path[0])
    if index < 0 and len(path) > 1:
        raise ValueError(f"no record {path[0]!r} to set {'/'.join(path[1:])!r} in")
    if len(path) > 1:
        values = _set_child(children[index], path[1:], values)
    field = pa.field(path[0], values.type)
    if index < 0:
        fields.append(field)
        children.append(values)
    else:
        fields[index], children[index] = field, values
    mask = struct.is_null() if struct.null_count else None
    return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
