from __future__ import annotations

import pytest
from flowparts import VALID_FLOW

from headwater.errors import ConfigurationError, Problem
from headwater.flow.loader import FlowDefinitionError, load_flow

MANY_MISTAKES = """\
flow: broken
services:
  json-reader: {type: TstRecordReader}
processors:
  listen:
    type: TstListen
    properties: {Listening Port: 9090, Base Pth: x}
  route:
    type: TstRoute
    properties:
      isImage: "${filename:endsWith(}"
    auto-terminate: [unmatched]
  merge:
    type: TstMerge
    properties: {record-reader: json-readr, record-writer: json-reader, min-records: ten}
    auto-terminate: [original, failure]
  store:
    type: TstPutFile
connections:
  - {from: listen, relationships: [success], to: route}
  - {from: route, relationships: [isImage], to: merge}
"""


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ConfigurationError) as caught:
        load_flow(text)
    return caught.value.problems


def by_path(text: str) -> dict[str, Problem]:
    return {p.path: p for p in problems_of(text)}


def test_every_mistake_is_reported_with_its_path() -> None:
    found = by_path(MANY_MISTAKES)
    assert set(found) == {
        "processors.listen.properties.Base Pth",
        "processors.route.properties.isImage",
        "processors.merge.properties.record-reader",
        "processors.merge.properties.record-writer",
        "processors.merge.properties.min-records",
        "processors.merge",
        "processors.store.type",
    }
    assert found["processors.listen.properties.Base Pth"].hint == "did you mean 'Base Path'?"
    assert "column" in found["processors.route.properties.isImage"].message
    assert "missing controller service 'json-readr'" in (
        found["processors.merge.properties.record-reader"].message
    )
    assert "is a TstRecordReader, not a TstRecordWriter" in (
        found["processors.merge.properties.record-writer"].message
    )
    assert str(found["processors.merge.properties.min-records"]) == (
        "processors.merge.properties.min-records: expected a whole number, got 'ten'"
    )
    assert "'merged' is neither connected nor auto-terminated" in found["processors.merge"].message
    assert "auto-terminate" in found["processors.merge"].hint
    assert "TstPutFile" in found["processors.store.type"].message
    assert "TstPut" in found["processors.store.type"].hint


def test_unknown_keys_suggest_the_nearest() -> None:
    text = VALID_FLOW.replace("connections:", "conections:").replace(
        "concurrent-tasks: 2", "concurent-tasks: 2"
    )
    found = by_path(text)
    assert found["conections"].message == "unknown top-level key"
    assert found["conections"].hint == "did you mean 'connections'?"
    assert found["processors.merge.schedule.concurent-tasks"].hint == (
        "did you mean 'concurrent-tasks'?"
    )


def test_connection_mistakes() -> None:
    text = VALID_FLOW.replace(
        "  - {from: listen, relationships: [success], to: route}\n",
        "  - {from: lisen, relationships: [success], to: route}\n"
        "  - {from: listen, relationships: [sucess], to: route}\n"
        "  - {from: route, relationships: [unmatched], to: mrege,\n"
        "     prioritizers: [NewestFlowFileFirst, Random]}\n"
        "  - {from: merge, relationships: [merged], to: listen, back-pressure: {size: 1 GiB}}\n",
    )
    found = by_path(text)
    assert found["connections[0].from"].hint == "did you mean 'listen'?"
    assert "has no relationship 'sucess'" in found["connections[1].relationships[0]"].message
    assert found["connections[1].relationships[0]"].hint == "did you mean 'success'?"
    assert "unknown processor 'mrege'" in found["connections[2].to"].message
    assert "connections[2].prioritizers[0]" not in found  # a short name is fine
    assert "unknown prioritizer 'Random'" in found["connections[2].prioritizers[1]"].message
    assert "data size" in found["connections[3].back-pressure.size"].message
    assert "takes no input" in found["processors.listen"].message


def test_prioritizer_short_names_are_stored_in_full() -> None:
    text = VALID_FLOW.replace("[OldestFlowFileFirst]", "[NewestFlowFileFirst]")
    route_to_merge = load_flow(text).connections[1]
    assert route_to_merge.prioritizers == ("NewestFlowFileFirstPrioritizer",)


def test_relationships_follow_the_properties() -> None:
    # TstRoute's relationships are its user-named properties: rename one, and the
    # connection carrying the old name is wrong while the new one is unconnected.
    text = VALID_FLOW.replace("isImage: ", "isPhoto: ")
    found = by_path(text)
    assert "has no relationship 'isImage'" in found["connections[1].relationships[0]"].message
    assert "'isPhoto' is neither connected" in found["processors.route"].message


def test_auto_terminating_an_unknown_relationship() -> None:
    text = VALID_FLOW.replace(
        "auto-terminate: [original, failure]", "auto-terminate: [original, failur]"
    )
    found = by_path(text)
    assert "has no relationship 'failur'" in found["processors.merge.auto-terminate[1]"].message
    assert "'failure' is neither connected" in found["processors.merge"].message


def test_input_required_without_input() -> None:
    text = VALID_FLOW.replace("  - {from: listen, relationships: [success], to: route}\n", "")
    found = by_path(text)
    assert "needs input" in found["processors.route"].message
    assert "'success' is neither connected" in found["processors.listen"].message


def test_schedule_mistakes() -> None:
    text = VALID_FLOW.replace('cron: "0 0/5 * * * ?"', 'cron: "0 0/5 * * *"').replace(
        "concurrent-tasks: 2", "concurrent-tasks: 0, yield: soon"
    )
    found = by_path(text)
    assert "6 or 7 fields" in found["processors.put.schedule.cron"].message
    assert "1 or more" in found["processors.merge.schedule.concurrent-tasks"].message
    assert "time period" in found["processors.merge.schedule.yield"].message


def test_period_and_cron_together() -> None:
    text = VALID_FLOW.replace('cron: "0 0/5 * * * ?"', 'cron: "0 0/5 * * * ?", period: 5 sec')
    assert "both period and cron" in by_path(text)["processors.put.schedule"].message


def test_duplicate_ids_are_reported() -> None:
    text = (
        VALID_FLOW.replace(
            "  put:\n", "  route:\n    type: TstPut\n  json-reader:\n    type: TstPut\n  put:\n"
        )
        .replace("{id: to-disk,", "{id: one,")
        .replace("  - {from: listen,", "  - {id: one, from: listen,")
    )
    problems = problems_of(text)
    messages = [str(p) for p in problems]
    assert "processors.route: given twice, at lines 16 and 27" in messages[0]
    assert any(
        p.path == "processors.json-reader" and "also a service" in p.message for p in problems
    )
    assert any(
        p.path == "connections[2].id" and "duplicate connection id" in p.message for p in problems
    )


def test_yaml_syntax_error_gives_line_and_column() -> None:
    [problem] = problems_of("processors:\n  listen:\n    type: TstListen\n   bad: [\n")
    assert problem.message.startswith("YAML syntax error at line ")
    assert "column" in problem.message


def test_not_a_mapping() -> None:
    assert "empty file" in problems_of("")[0].message
    assert "got a list" in problems_of("- a\n- b\n")[0].message


def test_settings_mistakes() -> None:
    text = VALID_FLOW.replace("threads: 8", "threads: many\n  content-claim-size: 1 MB")
    found = by_path(text)
    assert "whole number" in found["settings.threads"].message
    assert found["settings.content-claim-size"].hint == "did you mean 'content-claim-max-size'?"


def test_service_problems_have_service_paths() -> None:
    text = VALID_FLOW.replace(
        "{Schema Access Strategy: infer-schema}", "{Schema Access Strategy: infer}"
    ).replace("parquet-writer: {type: TstRecordWriter}", "parquet-writer: {type: TstRecordWritter}")
    found = by_path(text)
    assert (
        "expected one of" in found["services.json-reader.properties.Schema Access Strategy"].message
    )
    assert "services.parquet-writer.type" in found
    # a processor referring to that service is not blamed for the service's mistake
    assert "processors.merge.properties.record-writer" not in found


def test_missing_type_and_required_property() -> None:
    text = VALID_FLOW.replace("    type: TstListen\n", "").replace(
        '    properties: {Directory: "#{out_dir}/##{literal}", ', "    properties: {"
    )
    found = by_path(text)
    assert found["processors.listen"].message == "has no type"
    assert found["processors.put.properties.Directory"].message == "is required"


def test_wrong_shapes_are_each_one_problem() -> None:
    text = """\
flow: {name: x}
parameters: [a]
settings: 3
processors:
  listen: {type: TstListen, properties: [1], schedule: 5 sec, auto-terminate: {success: 1}}
  lone: TstPut
connections: [1, {}, {from: listen, relationships: [], to: lone}]
"""
    found = {(p.path, p.message) for p in problems_of(text)}
    assert ("flow", "expected a single value, got a mapping") in found
    assert ("parameters", "expected a mapping, got a list") in found
    assert ("settings", "expected a mapping, got '3'") in found
    assert ("processors.listen.properties", "expected a mapping, got a list") in found
    assert ("processors.listen.schedule", "expected a mapping, got '5 sec'") in found
    assert ("processors.listen.auto-terminate", "expected a list of names, got a mapping") in found
    assert ("processors.lone", "expected a mapping with type:, got 'TstPut'") in found
    shape = "expected a mapping with from:, relationships: and to:, got"
    assert ("connections[0]", f"{shape} '1'") in found
    assert ("connections[1]", f"{shape} an empty mapping") in found
    assert ("connections[2]", "has no relationships") in found
    assert len([p for p, _ in found if p.startswith("connections[0]")]) == 1


def test_problems_know_their_lines() -> None:
    with pytest.raises(FlowDefinitionError) as caught:
        load_flow(MANY_MISTAKES)
    error = caught.value
    assert error.line_of("processors.merge.properties.min-records") == 15
    assert error.line_of("processors.store.type") == 18
    assert error.line_of("connections[1].relationships[0]") == 21
    # a path that is not written (a missing property) points at its nearest parent
    assert error.line_of("processors.store.properties.Directory") == 17
    assert error.line_of("") is None
