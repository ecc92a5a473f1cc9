"""ListFile: one FlowFile per new file in a directory, each file listed once.

With ``Tracking Timestamps`` (NiFi's default listing strategy) the processor keeps, in
its component state, the newest modification time it has listed (``listing.timestamp``)
and the paths listed at exactly that time (``id.0``, ``id.1``, ...). A file is new when
it is newer than that time, or as new but not among those paths; so a file written in
the same millisecond as the last listed one is still listed, exactly once. The state is
saved only after the session has committed, and lives in the FlowFile repository, so a
restart resumes where the last committed listing ended.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.processor import Property, Relationship
from headwater.processors.files import AbstractDirectoryScanner, Candidate
from headwater.units import parse_bool

TIMESTAMPS = "timestamps"
NO_TRACKING = "none"
_STRATEGY_NAMES = {"Tracking Timestamps": TIMESTAMPS, "No Tracking": NO_TRACKING}


def _strategy(text: str) -> str:
    """NiFi's stored value; the display name is accepted too."""
    return _STRATEGY_NAMES.get(text, text)


_TIMESTAMP_KEY = "listing.timestamp"


class ListFile(AbstractDirectoryScanner):
    """Lists the files in a directory as 0-byte FlowFiles that describe them, for
    FetchFile to fetch; unlike GetFile it leaves the files where they are."""

    tags = ("file", "get", "list", "ingest", "source", "filesystem")
    default_schedule = "1 min"

    SUCCESS = Relationship("success", "A FlowFile for each file listed.")

    listing_strategy = Property(
        "listing-strategy",
        "How to tell new files: tracking timestamps (timestamps) or listing all (none)",
        display_name="Listing Strategy",
        default=TIMESTAMPS,
        required=True,
        allowed=(TIMESTAMPS, NO_TRACKING, *_STRATEGY_NAMES),
        parse=_strategy,
    )
    location = Property(
        "Input Directory Location",
        "Local or Remote; state is kept locally either way",
        default="Local",
        required=True,
        allowed=("Local", "Remote"),
    )
    precision = Property(
        "target-system-timestamp-precision",
        "Accepted for NiFi flows; times are compared to the millisecond",
        display_name="Target System Timestamp Precision",
        default="auto-detect",
        required=True,
        allowed=("auto-detect", "millis", "seconds", "minutes"),
    )
    include_attributes = Property(
        "Include File Attributes",
        "Add owner, group, permissions, creation and access times as attributes",
        default="true",
        required=True,
        parse=parse_bool,
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        self._serial = threading.Lock()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """One listing at a time (NiFi's @TriggerSerially): concurrent tasks would list
        the same new files before either saved its state."""
        if not self._serial.acquire(blocking=False):
            context.yield_()
            return
        try:
            self._list(context, session)
        finally:
            self._serial.release()

    def _list(self, context: ProcessContext, session: ProcessSession) -> None:
        tracking = context[self.listing_strategy] == TIMESTAMPS
        try:
            found = list(self.scan(context))
        except ProcessException as exc:
            context.logger.error("cannot list files: %s", exc)
            context.yield_()
            return
        state = context.state.get() if tracking else {}
        last, seen = _listed(state)
        new = [c for c in found if _is_new(c, last, seen)]
        if not new:
            context.yield_()
            return
        new.sort(key=lambda c: (c.modified_millis, str(c.path)))
        extended = context[self.include_attributes]
        for candidate in new:
            ff = session.put_all_attributes(session.create(), candidate.attributes(extended))
            session.transfer(ff, self.SUCCESS)
        session.commit()
        if tracking:
            context.state.set(_next_state(new, last, seen))


def _listed(state: Mapping[str, str]) -> tuple[int, frozenset[str]]:
    """The newest time listed and the paths listed at that time."""
    last = int(state.get(_TIMESTAMP_KEY, "-1"))
    return last, frozenset(v for k, v in state.items() if k.startswith("id."))


def _is_new(candidate: Candidate, last: int, seen: frozenset[str]) -> bool:
    millis = candidate.modified_millis
    return millis > last or (millis == last and str(candidate.path) not in seen)


def _next_state(new: list[Candidate], last: int, seen: frozenset[str]) -> dict[str, str]:
    latest = max(last, *(c.modified_millis for c in new))
    ids = {str(c.path) for c in new if c.modified_millis == latest}
    if latest == last:
        ids |= seen
    state = {_TIMESTAMP_KEY: str(latest)}
    state.update({f"id.{i}": path for i, path in enumerate(sorted(ids))})
    return state
