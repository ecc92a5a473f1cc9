"""ProvenanceReporter: the events only a processor knows about, in NiFi's words.

A processor says *that* it received, sent or routed a FlowFile; the session fills in
the FlowFile's final attributes and content at commit, so events always describe
what was committed. A SEND is the exception (as in NiFi): it keeps the attributes and
content the FlowFile had when it left, which each event takes when it is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from headwater.flowfile import FlowFile, now_millis
from headwater.provenance import EventBatch, ProvenanceEvent, Recorded
from headwater.provenance import ProvenanceEventType as Ev


class ProvenanceReporter:
    """Collects a session's explicit events until commit or rollback."""

    def __init__(self, component_id: str, component_type: str) -> None:
        self.component_id = component_id
        self.component_type = component_type
        self.events: list[Recorded] = []

    def _add(
        self,
        kind: Ev,
        flowfile: FlowFile,
        *,
        transit_uri: str | None = None,
        details: str | None = None,
        millis: int = 0,
        relationship: str | None = None,
        parents: tuple[str, ...] = (),
        children: tuple[str, ...] = (),
        source_id: str | None = None,
        alternate: str | None = None,
    ) -> None:
        self.events.append(
            ProvenanceEvent.of(
                kind,
                flowfile,
                self.component_id,
                self.component_type,
                now_millis(),
                transit_uri=transit_uri,
                details=details,
                event_duration=millis,
                relationship=relationship,
                parent_uuids=parents,
                child_uuids=children,
                source_system_flowfile_id=source_id,
                alternate_identifier_uri=alternate,
            )
        )

    def _add_many(
        self,
        kind: Ev,
        flowfiles: Sequence[FlowFile],
        transit_uri: str,
        details: str | None,
        millis: int,
        sources: Sequence[str | None] = (),
    ) -> None:
        """One event per FlowFile of a batch that crossed to or from one place at once
        (thousands per site-to-site transaction), kept as one ``EventBatch``."""
        if flowfiles:
            self.events.append(
                EventBatch(
                    kind,
                    list(flowfiles),
                    self.component_id,
                    self.component_type,
                    now_millis(),
                    transit_uri,
                    details,
                    millis,
                    sources,
                )
            )

    def receive(
        self,
        flowfile: FlowFile,
        transit_uri: str,
        *,
        details: str | None = None,
        millis: int = 0,
        source_system_flowfile_id: str | None = None,
    ) -> None:
        """Data came in from outside (ListenHTTP, GetFile, site-to-site)."""
        self._add(
            Ev.RECEIVE,
            flowfile,
            transit_uri=transit_uri,
            details=details,
            millis=millis,
            source_id=source_system_flowfile_id,
        )

    def receive_many(
        self,
        flowfiles: Sequence[FlowFile],
        transit_uri: str,
        source_system_flowfile_ids: Sequence[str | None],
        *,
        details: str | None = None,
        millis: int = 0,
    ) -> None:
        """``receive`` for FlowFiles that arrived together, from one place."""
        self._add_many(
            Ev.RECEIVE, flowfiles, transit_uri, details, millis, source_system_flowfile_ids
        )

    def fetch(
        self, flowfile: FlowFile, transit_uri: str, *, details: str | None = None, millis: int = 0
    ) -> None:
        """The content of an existing FlowFile was replaced by outside data (FetchFile)."""
        self._add(Ev.FETCH, flowfile, transit_uri=transit_uri, details=details, millis=millis)

    def send(
        self, flowfile: FlowFile, transit_uri: str, *, details: str | None = None, millis: int = 0
    ) -> None:
        """Data went out (PutFile, InvokeHTTP, PublishKafka); kept even on rollback."""
        self._add(Ev.SEND, flowfile, transit_uri=transit_uri, details=details, millis=millis)

    def send_many(
        self,
        flowfiles: Sequence[FlowFile],
        transit_uri: str,
        *,
        details: str | None = None,
        millis: int = 0,
    ) -> None:
        """``send`` for FlowFiles that went out together, to one place."""
        self._add_many(Ev.SEND, flowfiles, transit_uri, details, millis)

    def upload(
        self, flowfile: FlowFile, transit_uri: str, *, details: str | None = None, millis: int = 0
    ) -> None:
        self._add(Ev.UPLOAD, flowfile, transit_uri=transit_uri, details=details, millis=millis)

    def invoke_remote(
        self, flowfile: FlowFile, transit_uri: str, *, details: str | None = None, millis: int = 0
    ) -> None:
        """An outside system was called on this FlowFile's behalf; kept even on rollback."""
        self._add(
            Ev.REMOTE_INVOCATION, flowfile, transit_uri=transit_uri, details=details, millis=millis
        )

    def route(
        self,
        flowfile: FlowFile,
        relationship: object,
        *,
        details: str | None = None,
        millis: int = 0,
    ) -> None:
        """Routed to a relationship for a reason worth keeping (RouteOnAttribute)."""
        self._add(
            Ev.ROUTE, flowfile, relationship=str(relationship), details=details, millis=millis
        )

    def create(self, flowfile: FlowFile, *, details: str | None = None) -> None:
        self._add(Ev.CREATE, flowfile, details=details)

    def modify_attributes(self, flowfile: FlowFile, *, details: str | None = None) -> None:
        self._add(Ev.ATTRIBUTES_MODIFIED, flowfile, details=details)

    def modify_content(
        self, flowfile: FlowFile, *, details: str | None = None, millis: int = 0
    ) -> None:
        self._add(Ev.CONTENT_MODIFIED, flowfile, details=details, millis=millis)

    def associate(self, flowfile: FlowFile, alternate_identifier_uri: str) -> None:
        """ADDINFO: the FlowFile is also known by this identifier elsewhere."""
        self._add(Ev.ADDINFO, flowfile, alternate=alternate_identifier_uri)

    def download(self, flowfile: FlowFile, transit_uri: str, *, details: str | None = None) -> None:
        self._add(Ev.DOWNLOAD, flowfile, transit_uri=transit_uri, details=details)

    def join(
        self, child: FlowFile, parents: Sequence[FlowFile], *, details: str | None = None
    ) -> None:
        self._add(Ev.JOIN, child, parents=tuple(p.uuid for p in parents), details=details)

    def clone(self, parent: FlowFile, child: FlowFile) -> None:
        self._add(Ev.CLONE, parent, children=(child.uuid,))

    def add_foreign(self, events: Sequence[ProvenanceEvent]) -> None:
        """Events another system recorded (an agent's, shipped to the hub), stored as
        they are with this session's commit: their FlowFiles are not this session's."""
        self.events.extend(events)

    def take(self, predicate: Callable[[Recorded], bool]) -> list[Recorded]:
        """Remove and return the events (and batches) that match."""
        taken = [e for e in self.events if predicate(e)]
        self.events = [e for e in self.events if not predicate(e)]
        return taken
