from __future__ import annotations

from pathlib import Path

import pytest
from flowparts import VALID_FLOW, TstListen, TstMerge, TstPut, TstRecordReader, TstRoute

from headwater.errors import ConfigurationError
from headwater.flow.loader import load_flow, load_flow_dict
from headwater.flow.model import (
    ConnectionDefinition,
    EngineSettings,
    ProcessorDefinition,
    Schedule,
    SchedulingStrategy,
    ServiceDefinition,
)


def test_valid_flow_round_trips_into_the_definition() -> None:
    flow = load_flow(VALID_FLOW)

    assert flow.name == "sensors-to-parquet"
    assert flow.parameters == {"out_dir": "/tmp/lake", "port": "9090"}
    assert flow.settings == EngineSettings(threads=8, provenance_max_age=7 * 86400.0)
    assert flow.services == {
        "json-reader": ServiceDefinition(
            "json-reader", TstRecordReader, {"schema-access-strategy": "infer-schema"}
        ),
        "parquet-writer": ServiceDefinition(
            "parquet-writer", flow.services["parquet-writer"].type, {"compression-codec": "SNAPPY"}
        ),
    }
    assert list(flow.processors) == ["listen", "route", "merge", "put"]
    assert flow.processors["listen"] == ProcessorDefinition(
        id="listen",
        type=TstListen,
        properties={
            "Base Path": "contentListener",
            "Listening Port": "9090",
            "max-data-size": "1 MB",
        },
        name="Listen for sensors",
    )
    assert flow.processors["route"] == ProcessorDefinition(
        id="route",
        type=TstRoute,
        properties={
            "Routing Strategy": "Route to Property name",
            "isImage": "${filename:endsWith('.jpg')}",
        },
        auto_terminate=frozenset({"unmatched"}),
    )
    merge = flow.processors["merge"]
    assert merge.type is TstMerge
    assert merge.properties == {
        "record-reader": "json-reader",
        "record-writer": "parquet-writer",
        "min-records": "100",
        "max-bin-age": "5 sec",
    }
    assert merge.schedule == Schedule(concurrent_tasks=2)
    put = flow.processors["put"]
    assert put.type is TstPut
    assert put.properties["Directory"] == "/tmp/lake/#{literal}"
    assert put.schedule == Schedule(
        strategy=SchedulingStrategy.CRON_DRIVEN,
        cron="0 0/5 * * * ?",
        penalty=10.0,
        yield_duration=2.0,
        batch_size=50,
    )
    assert flow.connections == (
        ConnectionDefinition("listen/success/route", "listen", ("success",), "route"),
        ConnectionDefinition(
            "route/isImage/merge",
            "route",
            ("isImage",),
            "merge",
            back_pressure_objects=500,
            back_pressure_bytes=10 * 1024**2,
            expiration=60.0,
            prioritizers=("OldestFlowFileFirstPrioritizer",),
        ),
        ConnectionDefinition(
            "to-disk",
            "merge",
            ("merged",),
            "put",
            prioritizers=("PriorityAttributePrioritizer", "FirstInFirstOutPrioritizer"),
            swap_threshold=1000,
            name="merged records",
        ),
    )


def test_a_file_path_is_read_and_names_the_flow(tmp_path: Path) -> None:
    path = tmp_path / "lake.yaml"
    path.write_text(VALID_FLOW.replace("flow: sensors-to-parquet\n", ""))
    assert load_flow(path).name == "lake"
    assert load_flow(str(path)).name == "lake"


def test_a_missing_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the flow file"):
        load_flow(tmp_path / "nowhere.yaml")


def test_parameters_from_the_caller_override_the_file() -> None:
    flow = load_flow(VALID_FLOW, parameters={"out_dir": "/data", "extra": "x"})
    assert flow.processors["put"].properties["Directory"] == "/data/#{literal}"
    assert flow.parameters == {"out_dir": "/data", "port": "9090", "extra": "x"}


def test_parameters_reach_schedule_values() -> None:
    text = VALID_FLOW.replace("batch-size: 50", "batch-size: '#{batch}'")
    assert load_flow(text, parameters={"batch": "7"}).processors["put"].schedule.batch_size == 7


def test_a_parameter_can_be_a_file_beside_the_flow(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "out.txt").write_text("/lake/from-file")
    text = VALID_FLOW.replace("out_dir: /tmp/lake", "out_dir: {file: schemas/out.txt}")
    (tmp_path / "flow.yaml").write_text(text)
    assert load_flow(tmp_path / "flow.yaml").parameters["out_dir"] == "/lake/from-file"


def test_a_parameter_file_that_cannot_be_read_is_a_problem(tmp_path: Path) -> None:
    text = VALID_FLOW.replace("out_dir: /tmp/lake", "out_dir: {file: gone.txt, mode: x}")
    (tmp_path / "flow.yaml").write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        load_flow(tmp_path / "flow.yaml")
    problems = {p.path: p.message for p in caught.value.problems}
    assert "cannot read" in problems["parameters.out_dir.file"]
    assert str(tmp_path / "gone.txt") in problems["parameters.out_dir.file"]
    assert problems["parameters.out_dir.mode"] == "unknown key of a parameter"


def test_a_missing_parameter_names_the_known_ones() -> None:
    text = VALID_FLOW.replace("#{out_dir}", "#{outdir}")
    with pytest.raises(ConfigurationError) as caught:
        load_flow(text)
    [problem] = caught.value.problems
    assert problem.path == "processors.put.properties.Directory"
    assert "missing parameter 'outdir'" in problem.message
    assert "out_dir" in problem.hint and "-p outdir=VALUE" in problem.hint


def test_display_names_are_accepted_and_stored_as_property_names() -> None:
    text = VALID_FLOW.replace("min-records: 100", "Minimum Number of Records: 100")
    merge = load_flow(text).processors["merge"]
    assert merge.properties["min-records"] == "100"
    assert "Minimum Number of Records" not in merge.properties


def test_scalars_become_text_as_written() -> None:
    data = {
        "processors": {
            "listen": {
                "type": "TstListen",
                "properties": {"Listening Port": 8080, "Base Path": True},
                "enabled": False,
                "auto-terminate": "success",
            }
        }
    }
    listen = load_flow_dict(data, "inline").processors["listen"]
    assert listen.properties["Listening Port"] == "8080"
    assert listen.properties["Base Path"] == "true"
    assert listen.enabled is False
    assert listen.auto_terminate == frozenset({"success"})
    yaml_text = (
        "processors:\n  listen:\n    type: TstListen\n    auto-terminate: [success]\n"
        "    properties: {Listening Port: 0100, Base Path: 1.10}\n"
    )
    listen = load_flow(yaml_text).processors["listen"]
    assert listen.properties["Listening Port"] == "0100"
    assert listen.properties["Base Path"] == "1.10"


def test_generated_connection_ids_are_made_unique() -> None:
    text = VALID_FLOW.replace(
        "  - {from: listen, relationships: [success], to: route}\n",
        "  - {from: listen, relationships: [success], to: route}\n" * 3,
    )
    ids = [c.id for c in load_flow(text).connections[:3]]
    assert ids == ["listen/success/route", "listen/success/route~2", "listen/success/route~3"]


def test_the_agents_flow_keeps_provenance_small(tmp_path: Path) -> None:
    agent = load_flow(Path(__file__).parents[3] / "flows" / "agent.yaml")
    assert agent.settings.provenance_cache_bytes == 128 * 1024
    assert agent.settings.flowfile_cache_bytes == 256 * 1024
    assert agent.settings.provenance_max_bytes == 64 * 1024**2
    assert agent.settings.provenance_indexed_fields == ()
    assert agent.settings.background_checkpoints is False
    assert agent.settings.page_size == 4096
    hub = load_flow_dict({"processors": {}}, "inline")
    assert hub.settings.background_checkpoints is True
    assert hub.settings.page_size == 65536
    assert hub.settings.provenance_cache_bytes == 64 * 1024**2
    assert hub.settings.flowfile_cache_bytes == 2 * 1024**2
    assert hub.settings.provenance_indexed_fields == ("FlowFileUUID", "ProcessorID", "EventType")


def test_an_unknown_checkpoint_mode_is_refused_with_the_choices() -> None:
    flow = {"processors": {}, "settings": {"repository-checkpoints": "on-comit"}}
    with pytest.raises(ConfigurationError, match=r"not one of background, on-commit.*'on-commit'"):
        load_flow_dict(flow, "inline")


@pytest.mark.parametrize("size", ["3 KB", "128 KB", "256 B", "many"])
def test_a_page_size_sqlite_cannot_use_is_refused(size: str) -> None:
    flow = {"processors": {}, "settings": {"repository-page-size": size}}
    with pytest.raises(ConfigurationError, match=r"settings\.repository-page-size"):
        load_flow_dict(flow, "inline")


def test_an_unknown_indexed_field_is_refused_with_the_nearest() -> None:
    flow = {"processors": {}, "settings": {"provenance-indexed-fields": "EventType, FlowFileUID"}}
    with pytest.raises(ConfigurationError, match=r"'FlowFileUID' is not one of.*FlowFileUUID"):
        load_flow_dict(flow, "inline")
