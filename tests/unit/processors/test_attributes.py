"""UpdateAttribute: attributes from Expression Language, deletion by pattern, and the
stateful variables that let a flow alert once when a value crosses a line."""

from __future__ import annotations

from headwater.processors.attributes import UpdateAttribute
from headwater.testing import TestRunner

# per host: "true" when this reading is over 70 and the host's last one was not
CROSSED = (
    "${cputemp:gt(70):and(${getStateValue('hot'):contains(${literal(','):append(${host})"
    ":append(',')}):not()})}"
)
HOT = (
    "${cputemp:gt(70):ifElse(${getStateValue('hot'):replace(${literal(','):append(${host})"
    ":append(',')}, ','):append(${host}):append(',')}, ${getStateValue('hot')"
    ":replace(${literal(','):append(${host}):append(',')}, ',')})}"
)


def test_sets_evaluated_attributes_and_deletes_by_pattern() -> None:
    runner = TestRunner(
        UpdateAttribute,
        {"greeting": "hello ${name}", "Delete Attributes Expression": "tmp\\..*"},
    )
    runner.enqueue(b"x", name="ada", **{"tmp.a": "1", "keep": "2"})
    runner.run()
    (out,) = runner.transferred(UpdateAttribute.SUCCESS)
    assert out.attributes["greeting"] == "hello ada"
    assert "tmp.a" not in out.attributes and out.attributes["keep"] == "2"


def test_without_store_state_get_state_value_is_null() -> None:
    runner = TestRunner(UpdateAttribute, {"seen": "${getStateValue('seen'):isNull()}"})
    runner.enqueue(b"")
    runner.run()
    assert runner.transferred(UpdateAttribute.SUCCESS)[0].attributes["seen"] == "true"


def test_stateful_variables_carry_from_flowfile_to_flowfile_and_across_runs() -> None:
    runner = TestRunner(
        UpdateAttribute,
        {
            "Store State": "Store state locally",
            "Stateful Variables Initial Value": "0",
            "count": "${getStateValue('count'):plus(1)}",
        },
    )
    for _ in range(3):
        runner.enqueue(b"")
    runner.run()
    counts = [f.attributes["count"] for f in runner.transferred(UpdateAttribute.SUCCESS)]
    assert counts == ["1", "2", "3"]
    runner.enqueue(b"")
    runner.run()  # scheduled anew: the state comes from the repository
    assert runner.transferred(UpdateAttribute.SUCCESS)[-1].attributes["count"] == "4"


def test_a_value_that_crosses_the_line_is_flagged_once_per_host() -> None:
    runner = TestRunner(
        UpdateAttribute,
        {
            "Store State": "Store state locally",
            "Stateful Variables Initial Value": ",",
            "crossed": CROSSED,
            "hot": HOT,
        },
    )
    readings = [("a", 60), ("a", 75), ("b", 80), ("a", 76), ("b", 50), ("a", 65), ("a", 71)]
    for host, cputemp in readings:
        runner.enqueue(b"", host=host, cputemp=str(cputemp))
    runner.run()
    crossed = [
        (f.attributes["host"], f.attributes["cputemp"])
        for f in runner.transferred(UpdateAttribute.SUCCESS)
        if f.attributes["crossed"] == "true"
    ]
    assert crossed == [("a", "75"), ("b", "80"), ("a", "71")]
