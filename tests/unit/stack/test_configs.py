"""The generated configurations load with each part's own loader, with this stack's
paths, ports and keys in them, and the files holding keys are private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from headwater.agent.config import load_agent_config
from headwater.api.agents_identity import load_known_agents
from headwater.errors import ConfigurationError
from headwater.jobs.config import load_config as load_jobs_config
from headwater.models.serve.config import load_config as load_models_config
from headwater.stack import configs
from headwater.stack.configs import Endpoints, write_config
from headwater.stack.layout import StackLayout, StackPorts
from headwater.stack.secrets import load_or_create

PORTS = StackPorts(hub=18080, models=18081, jobs=18082, webhook=18083, ftp=12121)


@pytest.fixture
def stack(tmp_path: Path) -> tuple[StackLayout, Endpoints]:
    layout = StackLayout.at(tmp_path / "data")
    layout.make()
    return layout, Endpoints("127.0.0.1", PORTS)


def test_models_config_loads_with_detector_classifier_and_the_ftp_login(
    stack: tuple[StackLayout, Endpoints],
) -> None:
    layout, endpoints = stack
    secrets = load_or_create(layout.secrets)
    raw = configs.models_config(layout, secrets, endpoints, layout.root / "cache")
    path = write_config(layout.config / "models.yaml", raw, "test")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_models_config(path)
    assert set(config.models) == {"coco-detector", "imagenet-classifier"}
    assert config.by_access_key()[secrets.detector_key].name == "coco-detector"
    assert config.by_access_key()[secrets.classifier_key].name == "imagenet-classifier"
    login = config.inputs.storage_options["ftp://127.0.0.1:12121"]
    assert login == {"username": "headwater", "password": secrets.ftp_password}
    assert config.cache == layout.root / "cache"
    assert all(spec.replicas == 1 for spec in config.models.values())


def test_jobs_config_loads_with_absolute_paths_into_this_data_dir(
    stack: tuple[StackLayout, Endpoints],
) -> None:
    layout, endpoints = stack
    secrets = load_or_create(layout.secrets)
    source = configs.find_resource(Path("jobs/jobs.yaml"))
    raw = configs.jobs_config(source, layout, secrets, endpoints)
    config = load_jobs_config(write_config(layout.config / "jobs.yaml", raw, "test"))
    assert config.data_dir == layout.jobs
    assert config.base_url == "http://127.0.0.1:18082"
    assert [u.api_key for u in config.users] == [secrets.jobs_api_key]
    assert config.projects[0].directory == source.parent
    jobs = {spec.name: spec for _, spec in config.jobs}
    assert set(jobs) == {"sensors", "status", "join"}
    assert all(spec.type == "manual" for spec in jobs.values())  # the flow starts them
    assert all(spec.memory <= 1 for spec in jobs.values())
    env = jobs["join"].environment
    assert env["READINGS_PATH"] == str(layout.lake / "sensors")
    assert env["IMAGES_PATH"] == str(layout.lake / "images")
    assert env["OUTPUT_DIR"] == str(layout.jobs / "output")
    status = jobs["status"].environment
    assert status["JOBS_API_URL"] == "http://127.0.0.1:18082"
    assert status["JOBS_API_KEY"] == secrets.jobs_api_key
    assert configs.jobs_identity(raw) == ("tspann", "tspann/edge-to-ai")


def test_agents_list_and_device_config_load_with_the_real_loaders(
    stack: tuple[StackLayout, Endpoints],
) -> None:
    layout, endpoints = stack
    secrets = load_or_create(layout.secrets, ["device-1", "device-2"])
    agents = load_known_agents(
        write_config(layout.config / "agents.yaml", configs.agents_list(secrets), "test")
    )
    assert agents.by_token(secrets.agents["device-2"]) == "device-2"
    flow = configs.find_resource(Path("flows/agent.yaml"))
    raw = configs.agent_config("device-1", layout, secrets, endpoints, flow, None)
    path = write_config(layout.device("device-1") / "agent.yaml", raw, "test")
    config = load_agent_config(path)
    assert config.agent_id == "device-1"
    assert config.flow_path == flow
    assert config.c2.urls == ("http://127.0.0.1:18080",)
    assert config.c2.token == secrets.agents["device-1"]
    assert config.data_dir == layout.device("device-1") / "data"
    assert config.parameters["host_name"] == "device-1"
    assert config.parameters["agent_token"] == secrets.agents["device-1"]
    # the hub flow names an image's host by the folder above its image folder
    assert Path(config.parameters["image_dir"]).parent.name == "device-1"


def test_a_resource_that_is_nowhere_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        configs.find_resource(Path("flows/no-such-flow.yaml"))


def test_ports_from_the_base() -> None:
    assert StackPorts.from_base(8080) == StackPorts(8080, 8081, 8082, 8083, 2121)
    assert StackPorts.from_base(9000) == StackPorts(9000, 9001, 9002, 9003, 9004)
    assert StackPorts.from_base(9000, ftp=2200).ftp == 2200
    free = StackPorts.from_base(0)
    assert 0 not in (free.hub, free.models, free.jobs, free.webhook, free.ftp)
    with pytest.raises(ValueError, match="port-base"):
        StackPorts.from_base(65535)
