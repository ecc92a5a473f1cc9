"""MergeContent: the contents of many FlowFiles concatenated into one.

Bin-Packing packs bins as ``merge.py`` describes. Defragment puts back together the
fragments a split made: FlowFiles sharing ``fragment.identifier`` are merged in
``fragment.index`` order once all ``fragment.count`` of them have arrived; a bin still
incomplete after Max Bin Age, or whose fragments disagree, goes to ``failure`` with
the reason in ``error.message``.
"""

from __future__ import annotations

from typing import BinaryIO

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile, now_millis
from headwater.processor import Property
from headwater.processors.merge import (
    BIN_PACKING,
    MAX_ENTRIES,
    TAKE_LIMIT,
    AbstractMerge,
    Bin,
    bin_limits,
)

DEFRAGMENT = "Defragment"
NO_DELIMITERS = "Do Not Use Delimiters"
TEXT_DELIMITERS = "Text"


def _in_fragment_order(members: list[FlowFile]) -> list[FlowFile] | None:
    """The fragments in index order when all have arrived, else None; ValueError when
    they cannot make one whole."""
    counts = {ff.attributes.get("fragment.count") for ff in members}
    if len(counts) != 1 or None in counts:
        raise ValueError("the fragments do not all carry the same fragment.count")
    (count_text,) = counts
    try:
        count = int(str(count_text))
        by_index = {int(ff.attributes.get("fragment.index", "")): ff for ff in members}
    except ValueError:
        raise ValueError("fragment.count and fragment.index must be whole numbers") from None
    if len(by_index) != len(members) or len(members) > count:
        raise ValueError(f"more than fragment.count ({count}) distinct fragments")
    if len(members) < count:
        return None
    return [by_index[index] for index in sorted(by_index)]


def defragment(
    flowfiles: list[FlowFile], first_seen: dict[str, int], max_age_ms: int | None, now_ms: int
) -> tuple[list[Bin], list[tuple[list[FlowFile], str]], list[FlowFile]]:
    """Complete bins, the FlowFiles that fail (with why), and those that wait."""
    groups: dict[str, list[FlowFile]] = {}
    failed: list[tuple[list[FlowFile], str]] = []
    for ff in flowfiles:
        first_seen.setdefault(ff.uuid, ff.queued_at or now_ms)
        ident = ff.attributes.get("fragment.identifier")
        if ident is None:
            failed.append(([ff], "no fragment.identifier attribute to defragment by"))
        else:
            groups.setdefault(ident, []).append(ff)
    ready: list[Bin] = []
    kept: set[str] = set()
    for ident, members in groups.items():
        started = min(first_seen[ff.uuid] for ff in members)
        try:
            ordered = _in_fragment_order(members)
        except ValueError as exc:
            failed.append((members, str(exc)))
            continue
        if ordered is not None:
            size = sum(ff.size for ff in ordered)
            ready.append(Bin(ident, ordered, len(ordered), size, started, MAX_ENTRIES))
        elif max_age_ms is not None and now_ms - started >= max_age_ms:
            failed.append((members, f"only {len(members)} fragments arrived within Max Bin Age"))
        else:
            kept.update(ff.uuid for ff in members)
    for uuid in [u for u in first_seen if u not in kept]:
        del first_seen[uuid]
    return ready, failed, [ff for ff in flowfiles if ff.uuid in kept]


class MergeContent(AbstractMerge):
    """Merges the content of many FlowFiles into one, in bins by correlation attribute,
    entries, size and age; the inputs go to ``original`` and the merge is a JOIN."""

    tags = ("merge", "content", "concatenation", "bin")

    merge_strategy = Property(
        "Merge Strategy",
        "How FlowFiles are put into bins: by the limits below, or by fragment attributes",
        default=BIN_PACKING,
        required=True,
        allowed=(BIN_PACKING, DEFRAGMENT),
    )
    merge_format = Property(
        "Merge Format",
        "How contents are combined",
        default="Binary Concatenation",
        required=True,
        allowed=("Binary Concatenation",),
    )
    correlation = Property(
        "Correlation Attribute Name",
        "FlowFiles with different values of this attribute are never merged together",
    )
    min_entries, max_entries, min_size, max_size, max_age, max_bins = bin_limits(
        (
            "Minimum Number of Entries",
            "Maximum Number of Entries",
            "Minimum Group Size",
            "Maximum Group Size",
            "Max Bin Age",
            "Maximum number of Bins",
        ),
        "5",
    )
    delimiter_strategy = Property(
        "Delimiter Strategy",
        "Whether Header, Footer and Demarcator are used, given as text",
        default=NO_DELIMITERS,
        required=True,
        allowed=(NO_DELIMITERS, TEXT_DELIMITERS),
    )
    header = Property("Header File", "Text written first", display_name="Header")
    footer = Property("Footer File", "Text written last", display_name="Footer")
    demarcator = Property(
        "Demarcator File", "Text written between contents", display_name="Demarcator"
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        limits = self.limits(context)
        by_fragments = context[self.merge_strategy] == DEFRAGMENT
        wanted = TAKE_LIMIT if by_fragments else limits.max_entries * limits.max_bins
        taken = session.get_batch(min(wanted, TAKE_LIMIT))
        if not taken:
            return
        if not by_fragments:
            ready = self.merge_bins(context, session, taken, lambda ff: 1)
        else:
            now = now_millis()
            with self.packing:
                ready, failed, waiting = defragment(taken, self._first_seen, limits.max_age_ms, now)
            session.transfer_all(waiting)
            for members, reason in failed:
                for ff in members:
                    context.logger.warning("routing %s to failure: %s", ff.uuid, reason)
                    session.transfer(
                        session.put_attribute(ff, "error.message", reason), self.FAILURE
                    )
            if not ready and not failed:
                context.yield_()
        text = context[self.delimiter_strategy] == TEXT_DELIMITERS

        def part(prop: Property[str]) -> bytes:
            value = context.get(prop) if text else None
            return value.encode() if value else b""

        header, footer, demarcator = part(self.header), part(self.footer), part(self.demarcator)
        for full in ready:

            def concatenate(out: BinaryIO, flowfiles: list[FlowFile] = full.flowfiles) -> None:
                out.write(header)
                for index, ff in enumerate(flowfiles):
                    if index:
                        out.write(demarcator)
                    with session.open_read(ff) as stream:
                        while chunk := stream.read(1 << 20):
                            out.write(chunk)
                out.write(footer)

            self.finish(context, session, full, concatenate, {})
