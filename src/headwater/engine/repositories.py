"""The three repositories of a data directory, opened and closed together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from headwater.flow.model import EngineSettings
from headwater.repository.content import ContentRepository
from headwater.repository.flowfile import SqliteFlowFileRepository
from headwater.repository.provenance import SqliteProvenanceRepository
from headwater.repository.provenance_rows import PreparedEvents


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
        )
        repositories = cls(
            SqliteFlowFileRepository(data_dir / "flowfile_repository"),
            ContentRepository(
                data_dir / "content_repository",
                claim_max_bytes=settings.content_claim_max_bytes,
                watermark=provenance.high_water,
            ),
            provenance,
        )
        repositories.replay_provenance_journal()
        return repositories

    def replay_provenance_journal(self) -> int:
        """Write the events of sessions that committed but crashed before their events
        reached the provenance repository; returns how many journal entries there were."""
        entries = self.flowfiles.journal()
        for _, blob in entries:
            self.provenance.write(PreparedEvents.loads(blob), replay=True)
        self.flowfiles.clear_journal([first for first, _ in entries])
        return len(entries)

    def restore_claim_counts(self) -> None:
        self.content.restore_counts(self.flowfiles.claim_counts())

    def maintain(self) -> tuple[int, int]:
        """Apply provenance retention, then reclaim content nothing points at."""
        events = self.provenance.apply_retention()
        claims = self.content.reclaim(self.provenance.retained_from())
        return events, claims

    def close(self) -> None:
        self.content.close()
        self.flowfiles.close()
        self.provenance.close()
