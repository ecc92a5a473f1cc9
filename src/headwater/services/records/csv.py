"""CSVReader and CSVRecordSetWriter, on pyarrow.csv.

Without a schema the reader lets pyarrow infer column types; with one, every column is
read as text and cast to its field's type, so a value that does not fit raises a
``RecordError`` naming the record and the field, as the JSON reader's do.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pcsv  # type: ignore[import-untyped]

from headwater.context import ServiceContext
from headwater.errors import Problem
from headwater.processor import Property
from headwater.services.records.api import RecordError, RecordReaderFactory, RecordSetWriterFactory
from headwater.services.records.coerce import conform
from headwater.services.records.registry import (
    INFER,
    INHERIT,
    SchemaAccessing,
    strategy_property,
)
from headwater.units import parse_bool


def _one_char(text: str) -> str:
    text = text.replace("\\t", "\t")
    if len(text) != 1:
        raise ValueError(f"expected one character, got {text!r}")
    return text


def _codec(text: str) -> str:
    "".encode(text)
    return text


class _CsvOptions:
    """The properties CSVReader and CSVRecordSetWriter share, under NiFi's names."""

    separator = Property(
        "Value Separator", "The character between fields", default=",", parse=_one_char
    )
    quote = Property(
        "Quote Character", "The character that quotes a field", default='"', parse=_one_char
    )
    escape = Property(
        "Escape Character", "The character that escapes a quote", default="\\", parse=_one_char
    )
    null_string = Property("Null String", "The text that stands for null (none when unset)")
    charset = Property(
        "csvutils-character-set",
        "The encoding of the text",
        display_name="Character Set",
        default="UTF-8",
        parse=_codec,
    )


class CSVReader(SchemaAccessing, RecordReaderFactory):
    """Parses comma-separated (or otherwise delimited) text into Arrow; the header line
    names the columns, or the schema does."""

    tags = ("csv", "parse", "record", "row", "reader", "delimited", "comma", "separated", "values")

    strategy = strategy_property(INFER)
    separator = _CsvOptions.separator
    quote = _CsvOptions.quote
    escape = _CsvOptions.escape
    null_string = _CsvOptions.null_string
    charset = _CsvOptions.charset
    header = Property(
        "Skip Header Line",
        "Whether the first line is a header naming the columns (always, when the "
        "schema is inferred)",
        display_name="Treat First Line as Header",
        default="false",
        parse=parse_bool,
    )
    trim = Property(
        "Trim Fields", "Whether spaces around fields are removed", default="true", parse=parse_bool
    )

    def on_enabled(self, context: ServiceContext) -> None:
        super().on_enabled(context)
        self._parse = pcsv.ParseOptions(
            delimiter=context[self.separator],
            quote_char=context[self.quote],
            escape_char=context[self.escape],
        )
        self._header = context[self.header]
        self._null = context.get(self.null_string)
        self._trim = context[self.trim]
        self._charset = context[self.charset]

    def read(self, data: bytes, attributes: Mapping[str, str]) -> pa.Table:
        schema = self._access.schema(attributes)
        names = None if schema is None else schema.arrow.names
        read = pcsv.ReadOptions(
            column_names=names,  # None: taken from the header line
            skip_rows=1 if self._header and names else 0,
            encoding=self._charset,
        )
        # Without a Null String an empty field is null for numbers, "" for text.
        nulls = [self._null] if self._null is not None else [""]
        convert = pcsv.ConvertOptions(
            null_values=nulls,
            strings_can_be_null=self._null is not None,
            column_types={n: pa.string() for n in names} if names else None,
        )
        try:
            table = pcsv.read_csv(io.BytesIO(data), read, self._parse, convert)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise RecordError(f"malformed CSV: {exc}") from None
        if self._trim:
            table = _trimmed(table)
        if schema is None:
            return table
        return conform(_empty_as_null(table, schema.arrow), schema)


def _empty_as_null(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Empty fields of non-text columns are null, as NiFi reads them."""
    for index, target in enumerate(schema):
        if not pa.types.is_string(target.type):
            column = table.column(index)
            empty = pc.equal(column, "")
            table = table.set_column(index, table.field(index), pc.if_else(empty, None, column))
    return table


def _trimmed(table: pa.Table) -> pa.Table:
    for index, column in enumerate(table.columns):
        if pa.types.is_string(column.type):
            table = table.set_column(index, table.field(index), pc.utf8_trim_whitespace(column))
    return table


class CSVRecordSetWriter(SchemaAccessing, RecordSetWriterFactory):
    """Writes records as comma-separated (or otherwise delimited) text with a header."""

    tags = ("csv", "result", "set", "recordset", "record", "writer", "serializer", "row", "tsv")
    mime_type = "text/csv"

    strategy = strategy_property(INHERIT, INHERIT, infer=False)
    separator = _CsvOptions.separator
    quote = _CsvOptions.quote
    null_string = _CsvOptions.null_string
    charset = _CsvOptions.charset
    header = Property(
        "Include Header Line",
        "Whether the first line names the columns",
        default="true",
        parse=parse_bool,
    )
    quote_mode = Property(
        "Quote Mode",
        "Which fields are quoted",
        default="MINIMAL",
        allowed=("ALL", "MINIMAL", "NONE"),
    )

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        problems = super().custom_validate(values)
        if values.get("Quote Character", '"') != '"':
            problems.append(Problem("properties.Quote Character", 'only " is supported'))
        return problems

    def on_enabled(self, context: ServiceContext) -> None:
        super().on_enabled(context)
        quoting = {"ALL": "all_valid", "MINIMAL": "needed", "NONE": "none"}
        self._options = pcsv.WriteOptions(
            include_header=context[self.header],
            delimiter=context[self.separator],
            quoting_style=quoting[context[self.quote_mode]],
        )
        self._null = context.get(self.null_string)
        self._charset = context[self.charset]

    def write(self, table: pa.Table, attributes: Mapping[str, str]) -> bytes:
        schema = self._access.schema(attributes)
        if schema is not None:
            table = conform(table, schema)
        if self._null is not None:
            text = [c.cast(pa.string()).fill_null(self._null) for c in table.columns]
            table = pa.table(text, names=table.column_names)
        out = io.BytesIO()
        try:
            pcsv.write_csv(table, out, self._options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise RecordError(f"not writable as CSV (nested fields?): {exc}") from None
        data = out.getvalue()
        return data if self._charset.upper() == "UTF-8" else data.decode().encode(self._charset)
