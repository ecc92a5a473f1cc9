"""Small processors and services the flow-loader tests declare for themselves.

Built-in processors are written elsewhere; these use distinctive ``Tst`` names so the
tests do not depend on them. They leave the global registries at once: the
``registered`` fixture in ``conftest.py`` puts them back for each test only, so other
tests that walk every registered type never see them.
"""

from __future__ import annotations

from collections.abc import Mapping

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import (
    PROCESSOR_TYPES,
    SERVICE_TYPES,
    ControllerService,
    DynamicProperty,
    InputRequirement,
    Processor,
    Property,
    Relationship,
)
from headwater.units import parse_data_size, parse_duration, parse_int, parse_positive_int


class TstRecordReader(ControllerService):
    """Reads records."""

    strategy = Property(
        "schema-access-strategy",
        display_name="Schema Access Strategy",
        default="infer-schema",
        allowed=["infer-schema", "schema-name"],
    )


class TstRecordWriter(ControllerService):
    """Writes records."""

    compression = Property("compression-codec", default="SNAPPY")


class TstListen(Processor):
    """A source: takes no input."""

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Never triggered here: the class is only declarations."""

    input_requirement = InputRequirement.FORBIDDEN
    SUCCESS = Relationship("success")
    port = Property("Listening Port", required=True, parse=parse_positive_int)
    base_path = Property("Base Path", default="contentListener")
    max_size = Property("max-data-size", display_name="Max Data Size", parse=parse_data_size)


class TstRoute(Processor):
    """Routes by user-named properties: each one is a relationship too."""

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Never triggered here: the class is only declarations."""

    input_requirement = InputRequirement.REQUIRED
    dynamic_property = DynamicProperty("An expression; true routes to the relationship.")
    UNMATCHED = Relationship("unmatched")
    strategy = Property(
        "Routing Strategy",
        default="Route to Property name",
        allowed=["Route to Property name", "Route to 'matched' if all match"],
    )

    @classmethod
    def relationships_for(cls, values: Mapping[str, str]) -> tuple[Relationship, ...]:
        names = [k for k in values if cls.property_named(k) is None]
        return (*cls.relationships, *(Relationship(name) for name in names))


class TstMerge(Processor):
    """Merges records."""

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Never triggered here: the class is only declarations."""

    input_requirement = InputRequirement.REQUIRED
    MERGED = Relationship("merged")
    ORIGINAL = Relationship("original")
    FAILURE = Relationship("failure")
    reader = Property("record-reader", required=True, service=TstRecordReader)
    writer = Property("record-writer", required=True, service=TstRecordWriter)
    min_records = Property("min-records", display_name="Minimum Number of Records", parse=parse_int)
    max_bin_age = Property("max-bin-age", display_name="Max Bin Age", parse=parse_duration)
    correlation = Property("correlation-attribute-name", expression=True)


class TstPut(Processor):
    """Writes files."""

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Never triggered here: the class is only declarations."""

    input_requirement = InputRequirement.REQUIRED
    SUCCESS = Relationship("success")
    FAILURE = Relationship("failure")
    directory = Property("Directory", required=True, expression=True)
    conflict = Property(
        "Conflict Resolution Strategy", default="fail", allowed=["fail", "replace", "ignore"]
    )


TEST_PROCESSORS = (TstListen, TstRoute, TstMerge, TstPut)
TEST_SERVICES = (TstRecordReader, TstRecordWriter)
for _kind in TEST_PROCESSORS:
    del PROCESSOR_TYPES[_kind.type_name()]
for _service in TEST_SERVICES:
    del SERVICE_TYPES[_service.type_name()]


VALID_FLOW = """\
flow: sensors-to-parquet
parameters:
  out_dir: /tmp/lake
  port: 9090
settings:
  threads: 8
  provenance-max-age: 7 days
services:
  json-reader: {type: TstRecordReader, properties: {Schema Access Strategy: infer-schema}}
  parquet-writer: {type: TstRecordWriter}
processors:
  listen:
    type: TstListen
    name: Listen for sensors
    properties: {Listening Port: "#{port}", Max Data Size: 1 MB}
  route:
    type: TstRoute
    properties:
      isImage: "${filename:endsWith('.jpg')}"
    auto-terminate: [unmatched]
  merge:
    type: TstMerge
    properties: {record-reader: json-reader, record-writer: parquet-writer,
                 min-records: 100, max-bin-age: 5 sec}
    schedule: {period: 0 sec, concurrent-tasks: 2}
    auto-terminate: [original, failure]
  put:
    type: TstPut
    properties: {Directory: "#{out_dir}/##{literal}", Conflict Resolution Strategy: replace}
    schedule: {cron: "0 0/5 * * * ?", penalty: 10 sec, yield: 2 sec, batch-size: 50}
    auto-terminate: [success, failure]
connections:
  - {from: listen, relationships: [success], to: route}
  - {from: route, relationships: [isImage], to: merge,
     back-pressure: {objects: 500, size: 10 MB}, prioritizers: [OldestFlowFileFirst],
     expiration: 1 min}
  - {id: to-disk, name: merged records, from: merge, relationships: [merged], to: put,
     prioritizers: [PriorityAttributePrioritizer, FirstInFirstOut], swap-threshold: 1000}
"""
