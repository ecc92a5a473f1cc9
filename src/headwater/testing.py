"""TestRunner: run one processor against real repositories in a temporary directory.

Like NiFi's TestRunner: set properties, enqueue content and attributes, run N
triggers, then assert what went where, with which attributes and content, and which
provenance events the session recorded. Nothing is mocked: the session, queues and
repositories are the engine's own, so a processor that passes here behaves the same
in a flow.

>>> from headwater.processors.attributes import UpdateAttribute
>>> runner = TestRunner(UpdateAttribute, {"greeting": "hello ${name}"})
>>> _ = runner.enqueue(b"x", name="world")
>>> runner.run()
>>> runner.transferred("success")[0].attributes["greeting"]
'hello world'
>>> runner.close()
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.context import ProcessContext, ServiceContext, validate_properties
from headwater.engine.node import Connection, ProcessorNode
from headwater.engine.queue import FlowFileQueue
from headwater.engine.repositories import Repositories
from headwater.engine.session import ProcessSession
from headwater.engine.state import StateMap
from headwater.flow.model import Schedule
from headwater.flowfile import FlowFile, now_millis
from headwater.processor import ControllerService, Processor, Relationship
from headwater.provenance import ProvenanceEvent

__all__ = ["MockFlowFile", "TestRunner"]


@dataclass(frozen=True)
class MockFlowFile:
    """A transferred FlowFile with its content read, for assertions."""

    uuid: str
    attributes: dict[str, str]
    content: bytes
    penalized: bool

    @property
    def text(self) -> str:
        return self.content.decode()

    def assert_attribute_equals(self, key: str, value: str) -> None:
        actual = self.attributes.get(key)
        assert actual == value, f"attribute {key!r}: expected {value!r}, got {actual!r}"

    def assert_content_equals(self, content: bytes | str) -> None:
        expected = content.encode() if isinstance(content, str) else content
        assert self.content == expected, f"content: expected {expected!r}, got {self.content!r}"


class TestRunner:
    """One processor, an input queue, and a queue per relationship."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        processor: type[Processor] | Processor,
        properties: Mapping[str, str] | None = None,
        *,
        data_dir: Path | None = None,
        schedule: Schedule | None = None,
        variables: Mapping[str, str] | None = None,
        node_id: str | None = None,
    ) -> None:
        self.processor = processor() if isinstance(processor, type) else processor
        self.type = type(self.processor)
        self.properties: dict[str, str] = dict(properties or {})
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="headwater-test-"))
        self.repositories = Repositories.open(self.data_dir)
        self.node = ProcessorNode(
            node_id or self.type.type_name(), self.processor, schedule or Schedule()
        )
        self.input = self._queue("input")
        self.node.incoming.append(Connection("input", "test", ("test",), self.node.id, self.input))
        self.services: dict[str, ControllerService] = {}
        self.variables: Mapping[str, str] = {} if variables is None else variables
        self._scheduled = False

    @staticmethod
    def _queue(name: str) -> FlowFileQueue:
        return FlowFileQueue(
            name, back_pressure_objects=0, back_pressure_bytes=0, swap_threshold=10**9
        )

    # -- configuration -----------------------------------------------------------------

    def set_property(self, name: str, value: str) -> None:
        self.properties[name] = value

    def remove_property(self, name: str) -> None:
        self.properties.pop(name, None)

    def add_service(
        self,
        service_id: str,
        service: ControllerService,
        properties: Mapping[str, str] | None = None,
    ) -> ControllerService:
        """Enable a controller service the processor's properties can refer to by id."""
        context = ServiceContext(
            service_id, type(service), dict(properties or {}), self.services, self.variables
        )
        service.on_enabled(context)
        self.services[service_id] = service
        return service

    def problems(self) -> list[str]:
        found = validate_properties(
            self.type, self.properties, {k: type(v) for k, v in self.services.items()}
        )
        return [str(p) for p in found]

    def assert_valid(self) -> None:
        problems = self.problems()
        assert not problems, "expected a valid configuration, got:\n" + "\n".join(problems)

    def assert_invalid(self, *properties: str) -> None:
        """The configuration is invalid, with a problem on each named property."""
        problems = self.problems()
        assert problems, "expected an invalid configuration, but it is valid"
        for name in properties:
            assert any(f"properties.{name}:" in p for p in problems), (
                f"expected a problem with {name!r}, got:\n" + "\n".join(problems)
            )

    # -- input -------------------------------------------------------------------------

    def enqueue(
        self, content: bytes | str = b"", attributes: Mapping[str, str] | None = None, **attrs: str
    ) -> FlowFile:
        """Put a FlowFile in the processor's input queue (persisted, as in a flow)."""
        data = content.encode() if isinstance(content, str) else content
        ff = FlowFile.create({**(attributes or {}), **attrs})
        repos = self.repositories
        if data:
            writer = repos.content.acquire_writer()
            ff.claim, ff.offset, ff.size = writer.claim, writer.append(data), len(data)
            writer.flush()
            repos.content.release_writer(writer)
        (ff.seq,) = repos.flowfiles.next_seqs(1)
        ff.queued_at = now_millis()
        repos.flowfiles.commit([repos.flowfiles.row(self.input.id, ff)], [])
        repos.content.adjust({ff.claim: 1})
        self.input.put_all([ff])
        return ff

    # -- running -----------------------------------------------------------------------

    def run(self, iterations: int = 1, *, stop: bool = True, raise_errors: bool = True) -> None:
        """Trigger the processor ``iterations`` times, each in its own session."""
        if not self._scheduled:
            self._schedule()
        context = self.node.context
        assert context is not None
        for _ in range(iterations):
            session = ProcessSession(self.node, self.repositories)
            try:
                self.processor.on_trigger(context, session)
                session.commit()
            except Exception:
                session.rollback(penalize=True)
                if raise_errors:
                    raise
                self.node.bulletin("ERROR", "trigger failed")
        if stop:
            self.stop()

    def _schedule(self) -> None:
        node = self.node
        node.context = ProcessContext(
            node.id,
            self.type,
            self.properties,
            self.services,
            self.variables,
            state=StateMap(node.id, self.repositories.flowfiles),
            bulletins=node.bulletin,
        )
        node.outgoing = {}
        for rel in self.type.relationships_for(node.context.raw):
            node.outgoing[rel.name] = [
                Connection(rel.name, node.id, (rel.name,), "test", self._queue(rel.name))
            ]
        self.processor.on_scheduled(node.context)
        self._scheduled = True

    def stop(self) -> None:
        if self._scheduled and self.node.context is not None:
            self.processor.on_stopped(self.node.context)
        self._scheduled = False

    @property
    def context(self) -> ProcessContext:
        if not self._scheduled:
            self._schedule()
        assert self.node.context is not None
        return self.node.context

    # -- assertions --------------------------------------------------------------------

    def _relationship_queue(self, relationship: Relationship | str) -> FlowFileQueue:
        name = str(relationship)
        connections = self.node.outgoing.get(name)
        assert connections, f"{self.type.type_name()} has no relationship {name!r} (run first?)"
        return connections[0].queue

    def transferred(self, relationship: Relationship | str) -> list[MockFlowFile]:
        now = time.monotonic()
        return [
            MockFlowFile(
                ff.uuid,
                dict(ff.attributes),
                self.repositories.content.read(ff.claim, ff.offset, ff.size),
                ff.penalized_until > now,
            )
            for ff in self._relationship_queue(relationship).listing(10**9)
        ]

    def assert_transferred(self, relationship: Relationship | str, count: int) -> None:
        actual = self._relationship_queue(relationship).count
        assert actual == count, f"{relationship}: expected {count} FlowFiles, got {actual}"

    def assert_all_transferred(
        self, relationship: Relationship | str, count: int | None = None
    ) -> None:
        """Everything went to ``relationship`` (``count`` of them, if given)."""
        name = str(relationship)
        others = {r: c[0].queue.count for r, c in self.node.outgoing.items() if r != name}
        assert not any(others.values()), f"expected all in {name!r}, but also got {others}"
        if count is not None:
            self.assert_transferred(name, count)

    def queue_size(self) -> int:
        """FlowFiles still in the input queue."""
        return self.input.count

    def provenance_events(self) -> list[ProvenanceEvent]:
        return self.repositories.provenance.query(
            component=self.node.id, limit=10**6, newest_first=False
        )

    def provenance_types(self) -> list[str]:
        return [str(e.event_type) for e in self.provenance_events()]

    def counter(self, name: str) -> int:
        return self.node.stats.counters.get(name, 0)

    # -- cleanup -----------------------------------------------------------------------

    def close(self) -> None:
        self.stop()
        for service in self.services.values():
            service.on_disabled()
        self.repositories.close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> TestRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
