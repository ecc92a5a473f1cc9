"""The three repositories of a data directory, opened and closed together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from headwater.flow.model import EngineSettings
from headwater.flowfile import FlowFile, now_millis
from headwater.provenance import ProvenanceEvent, ProvenanceEventType, Recorded
from headwater.repository.content import ContentRepository
from headwater.repository.flowfile import Row, SqliteFlowFileRepository
from headwater.repository.provenance import SqliteProvenanceRepository


@dataclass
class Repositories:
    """FlowFile, content and provenance repositories under one ``--data-dir``."""

    flowfiles: SqliteFlowFileRepository
    content: ContentRepository
    provenance: SqliteProvenanceRepository

    @classmethod
    def open(cls, data_dir: Path, settings: EngineSettings | None = None) -> Repositories:
        settings = settings or EngineSettings()
        data_dir = Path(data_dir)
        provenance = SqliteProvenanceRepository(
            data_dir / "provenance_repository",
            max_age_seconds=settings.provenance_max_age,
            max_bytes=settings.provenance_max_bytes,
            cache_bytes=settings.provenance_cache_bytes,
            indexed=settings.provenance_indexed_fields,
            background_checkpoints=settings.background_checkpoints,
            page_size=settings.page_size,
        )
        repositories = cls(
            SqliteFlowFileRepository(
                data_dir / "flowfile_repository",
                cache_bytes=settings.flowfile_cache_bytes,
                background_checkpoints=settings.background_checkpoints,
                page_size=settings.page_size,
            ),
            ContentRepository(
                data_dir / "content_repository",
                claim_max_bytes=settings.content_claim_max_bytes,
                watermark=provenance.high_water,
            ),
            provenance,
        )
        repositories.reconcile_provenance()
        return repositories

    def reconcile_provenance(self) -> int:
        """At start: remove events written for sessions whose FlowFiles never committed
        (the process died between the two writes); returns how many went."""
        settled, confirmed = self.flowfiles.ledger()
        removed = self.provenance.remove_unconfirmed(settled, confirmed)
        self.flowfiles.reset_ledger(self.provenance.high_water())
        return removed

    def persist(
        self,
        events: Sequence[Recorded],
        rows: Sequence[Row] = (),
        deletes: Sequence[int] = (),
        *,
        receipts: Sequence[bytes] = (),
        received: int = 0,
    ) -> None:
        """The one way changes become durable: provenance first, then the FlowFile
        repository's transaction (rows in, rows out, receipts) that confirms the events,
        as NiFi orders them. On a failure the events go again (or stay unsettled, which
        the next start removes) and the error is raised with nothing changed."""
        prepared = self.provenance.prepare(events) if events else None
        try:
            if prepared is not None:
                self.provenance.write(prepared)
            confirm = (prepared.first_id, prepared.last_id) if prepared is not None else None
            settled = self.provenance.settled_through()
            self.flowfiles.commit(rows, deletes, confirm, settled, receipts, received)
        except BaseException:
            if prepared is not None:
                try:
                    self.provenance.remove(prepared.first_id, prepared.last_id)
                except Exception:
                    pass  # left unsettled, so the ledger never covers them
                else:
                    self.provenance.settle(prepared.first_id)
            raise
        if prepared is not None:
            self.provenance.settle(prepared.first_id)

    def record(self, events: Sequence[Recorded]) -> None:
        """Events that belong to no session commit (a DOWNLOAD, a SEND kept by a
        rollback), written and confirmed at once."""
        self.persist(events)

    def drop(
        self, flowfiles: Sequence[FlowFile], component_id: str, component_type: str, details: str
    ) -> None:
        """End queued FlowFiles outside any session (a connection's overflow cap): a DROP
        event each and their rows deleted (``persist``), then their content claims let go,
        in the order a session commit keeps."""
        if not flowfiles:
            return
        now = now_millis()
        events = [
            ProvenanceEvent.of(
                ProvenanceEventType.DROP, ff, component_id, component_type, now, details=details
            )
            for ff in flowfiles
        ]
        self.persist(events, deletes=[ff.seq for ff in flowfiles])
        deltas: dict[int, int] = {}
        for ff in flowfiles:
            if ff.claim:
                deltas[ff.claim] = deltas.get(ff.claim, 0) - 1
        self.content.adjust(deltas)

    def restore_claim_counts(self) -> None:
        self.content.restore_counts(self.flowfiles.claim_counts())

    def maintain(self) -> tuple[int, int]:
        """Apply provenance retention, then reclaim content nothing points at."""
        events = self.provenance.apply_retention()
        claims = self.content.reclaim(self.provenance.retained_from())
        return events, claims

    def close(self) -> None:
        """Close all three; a clean close settles the ledger, so no event written so far
        is mistaken at the next start for one a crash left unconfirmed."""
        try:
            self.flowfiles.reset_ledger(self.provenance.settled_through())
        finally:
            self.content.close()
            self.flowfiles.close()
            self.provenance.close()
