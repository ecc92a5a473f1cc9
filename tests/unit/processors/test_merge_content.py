"""MergeContent: bins by entries, size, age and correlation; a JOIN per merge."""

import time

from headwater.flowfile import now_millis
from headwater.processors.merge_content import MergeContent
from headwater.testing import TestRunner


def merge(**properties: str) -> TestRunner:
    return TestRunner(MergeContent, properties)


def test_min_entries_reached_merges_in_queue_order_with_delimiters() -> None:
    props = {"Minimum Number of Entries": "3", "Delimiter Strategy": "Text"}
    with merge(**props, Header="[", Footer="]", Demarcator=",") as runner:
        runner.assert_valid()
        for text in ("a", "b", "c"):
            runner.enqueue(text, kind="reading", name=text)
        runner.run()
        runner.assert_transferred(MergeContent.MERGED, 1)
        runner.assert_transferred(MergeContent.ORIGINAL, 3)
        out = runner.transferred(MergeContent.MERGED)[0]
        assert out.content == b"[a,b,c]"
        assert out.attributes["kind"] == "reading"
        assert "name" not in out.attributes  # Keep Only Common Attributes
        assert out.attributes["merge.count"] == "3"
        assert out.attributes["merge.reason"] == "MIN_THRESHOLDS_REACHED"
        assert int(out.attributes["merge.bin.age"]) >= 0
        assert runner.queue_size() == 0


def test_below_minimum_and_young_waits_without_losing_anything() -> None:
    with merge(**{"Minimum Number of Entries": "5", "Max Bin Age": "1 hour"}) as runner:
        for text in ("a", "b"):
            runner.enqueue(text)
        runner.run(3)
        runner.assert_transferred(MergeContent.MERGED, 0)
        runner.assert_transferred(MergeContent.ORIGINAL, 0)
        assert runner.queue_size() == 2
        for text in ("c", "d", "e"):
            runner.enqueue(text)
        runner.run()
        out = runner.transferred(MergeContent.MERGED)
        assert [o.content for o in out] == [b"abcde"]  # order kept across returns
        assert runner.queue_size() == 0


def test_a_bin_older_than_max_bin_age_is_merged_below_the_minimum() -> None:
    with merge(**{"Minimum Number of Entries": "10", "Max Bin Age": "5 mins"}) as runner:
        old = runner.enqueue(b"x")
        old.queued_at = now_millis() - 6 * 60 * 1000  # it has waited six minutes
        runner.enqueue(b"y")
        runner.run()
        out = runner.transferred(MergeContent.MERGED)
        assert [o.content for o in out] == [b"xy"]
        assert out[0].attributes["merge.reason"] == "TIMEOUT"
        assert int(out[0].attributes["merge.bin.age"]) >= 6 * 60 * 1000


def test_age_is_remembered_across_triggers_that_return_flowfiles() -> None:
    with merge(**{"Minimum Number of Entries": "10", "Max Bin Age": "200 ms"}) as runner:
        runner.enqueue(b"x")
        runner.run(stop=False)  # each trigger sends it back, which resets its queue time
        deadline = time.monotonic() + 10
        while not runner.transferred(MergeContent.MERGED) and time.monotonic() < deadline:
            runner.run(stop=False)
        out = runner.transferred(MergeContent.MERGED)
        assert [o.content for o in out] == [b"x"]
        assert int(out[0].attributes["merge.bin.age"]) >= 200


def test_correlation_attribute_keeps_groups_in_separate_bins() -> None:
    props = {"Correlation Attribute Name": "host", "Minimum Number of Entries": "2"}
    with merge(**props) as runner:
        for text, host in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("c1", "c")):
            runner.enqueue(text, host=host)
        runner.run()
        out = {o.attributes["host"]: o.content for o in runner.transferred(MergeContent.MERGED)}
        assert out == {"a": b"a1a2", "b": b"b1b2"}
        assert runner.queue_size() == 1  # c waits for a partner


def test_max_entries_and_max_group_size_split_bins() -> None:
    with merge(**{"Maximum Number of Entries": "2"}) as runner:
        for text in "abcde":
            runner.enqueue(text)
        runner.run()
        out = [o.content for o in runner.transferred(MergeContent.MERGED)]
        assert sorted(out) == [b"ab", b"cd", b"e"]
    with merge(**{"Maximum Group Size": "4 B", "Minimum Group Size": "3 B"}) as runner:
        for text in ("aa", "bb", "cc"):
            runner.enqueue(text)
        runner.run()
        assert [o.content for o in runner.transferred(MergeContent.MERGED)] == [b"aabb"]
        assert runner.queue_size() == 1


def test_more_waiting_bins_than_allowed_merges_the_oldest() -> None:
    props = {
        "Correlation Attribute Name": "host",
        "Minimum Number of Entries": "5",
        "Maximum number of Bins": "2",
    }
    with merge(**props) as runner:
        for host in "abc":
            runner.enqueue(host, host=host)
        runner.run()
        out = runner.transferred(MergeContent.MERGED)
        assert [o.content for o in out] == [b"a"]
        assert out[0].attributes["merge.reason"] == "BIN_MANAGER_FULL"
        assert runner.queue_size() == 2


def test_keep_all_unique_attributes_keeps_those_no_inputs_disagree_on() -> None:
    props = {"Minimum Number of Entries": "2", "Attribute Strategy": "Keep All Unique Attributes"}
    with merge(**props) as runner:
        runner.enqueue(b"1", only="first", both="x", differ="1")
        runner.enqueue(b"2", both="x", differ="2")
        runner.run()
        out = runner.transferred(MergeContent.MERGED)[0]
        assert out.attributes["only"] == "first"
        assert out.attributes["both"] == "x"
        assert "differ" not in out.attributes


def test_join_event_names_every_parent() -> None:
    with merge(**{"Minimum Number of Entries": "3"}) as runner:
        parents = {runner.enqueue(text).uuid for text in "abc"}
        runner.run()
        merged = runner.transferred(MergeContent.MERGED)[0]
        joins = [e for e in runner.provenance_events() if str(e.event_type) == "JOIN"]
        assert len(joins) == 1
        assert joins[0].flowfile_uuid == merged.uuid
        assert set(joins[0].parent_uuids) == parents


def test_configuration_is_checked() -> None:
    with merge(**{"Minimum Number of Entries": "ten", "Merge Strategy": "Defrag"}) as runner:
        runner.assert_invalid("Minimum Number of Entries", "Merge Strategy")


def fragment(runner: TestRunner, text: str, ident: str, index: int, count: int = 3) -> None:
    runner.enqueue(
        text,
        **{
            "fragment.identifier": ident,
            "fragment.index": str(index),
            "fragment.count": str(count),
        },
    )


def test_defragment_merges_fragments_in_index_order_once_all_arrive() -> None:
    with merge(**{"Merge Strategy": "Defragment"}) as runner:
        fragment(runner, "c", "one", 2)
        fragment(runner, "a", "one", 0)
        fragment(runner, "y", "two", 1)
        runner.run()
        runner.assert_transferred(MergeContent.MERGED, 0)
        assert runner.queue_size() == 3
        fragment(runner, "b", "one", 1)
        runner.run()
        out = runner.transferred(MergeContent.MERGED)
        assert [o.content for o in out] == [b"abc"]
        assert out[0].attributes["fragment.identifier"] == "one"
        runner.assert_transferred(MergeContent.ORIGINAL, 3)
        assert runner.queue_size() == 1


def test_defragment_fails_bins_that_are_too_old_or_inconsistent() -> None:
    with merge(**{"Merge Strategy": "Defragment", "Max Bin Age": "5 mins"}) as runner:
        old = runner.enqueue(
            "x", **{"fragment.identifier": "old", "fragment.index": "0", "fragment.count": "2"}
        )
        old.queued_at = now_millis() - 6 * 60 * 1000
        fragment(runner, "p", "bad", 0, count=2)
        fragment(runner, "q", "bad", 0, count=2)  # the same index twice
        runner.enqueue("z")  # no fragment attributes at all
        runner.run()
        failed = runner.transferred(MergeContent.FAILURE)
        assert sorted(f.content for f in failed) == [b"p", b"q", b"x", b"z"]
        reasons = {f.content: f.attributes["error.message"] for f in failed}
        assert "Max Bin Age" in reasons[b"x"]
        assert "fragment.identifier" in reasons[b"z"]
        runner.assert_transferred(MergeContent.MERGED, 0)
        assert runner.queue_size() == 0
