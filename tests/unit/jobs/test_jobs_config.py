"""jobs.yaml: a good file loads; a bad one fails at load with every problem listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_config
from headwater.errors import ConfigurationError
from headwater.jobs.config import load_config
from headwater.jobs.spec import parse_job


def test_a_good_file_loads_with_its_users_projects_and_jobs(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        [{"name": "hello", "script": "hello.py", "memory": "512 MB", "timeout": 2}],
        spark={"master": "spark://h:7077", "conf": {"spark.sql.shuffle.partitions": 4}},
    )
    assert config.data_dir == tmp_path / "data"
    assert [u.username for u in config.users] == ["tspann", "other"]
    ((project_id, job),) = config.jobs
    assert project_id == "tspann/edge-to-ai"
    assert (job.memory, job.timeout, job.kernel) == (0.5, 120.0, "python3")
    assert config.spark.master == "spark://h:7077"
    assert config.spark.conf == {"spark.sql.shuffle.partitions": "4"}


def test_a_bad_file_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(
        """
colour: blue
spark: {master: local, bogus: 1}
smtp: {port: none}
users:
  a: {name: A}
  b: {api-key: k}
  c: {api-key: k}
projects:
  nobody/p: {}
  b/p: {directory: missing}
jobs:
  - {project: b/p, name: x, script: x.py, kernel: r, cpu: zero, memory: lots,
     timeout: soon, schedule: often, timezone: Mars/Base, environment: [1], colour: 1}
  - {project: q/q, script: /etc/passwd, nvidia_gpu: 2}
"""
    )
    with pytest.raises(ConfigurationError) as caught:
        load_config(tmp_path / "jobs.yaml")
    paths = {p.path for p in caught.value.problems}
    assert paths >= {
        "colour",
        "spark.bogus",
        "smtp.port",
        "users.a.api-key",
        "users.c.api-key",
        "projects.nobody/p",
        "projects.b/p.directory",
        "jobs[0].kernel",
        "jobs[0].cpu",
        "jobs[0].memory",
        "jobs[0].timeout",
        "jobs[0].schedule",
        "jobs[0].timezone",
        "jobs[0].environment",
        "jobs[0].colour",
        "jobs[1].project",
        "jobs[1].name",
        "jobs[1].script",
        "jobs[1].nvidia_gpu",
    }, caught.value
    assert "expected one of python3, pyspark, got 'r'" in str(caught.value)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_a_posted_job_is_held_to_the_same_rules() -> None:
    spec, problems = parse_job({"name": "n", "script": "s.py", "timeout": "90 sec"})
    assert spec is not None and spec.timeout == 90 and not problems
    spec, problems = parse_job({"name": "", "script": 3})
    assert spec is None and {p.path for p in problems} == {"name", "script"}


REPO = Path(__file__).resolve().parents[3]


def test_the_shipped_jobs_file_and_job_status_flow_load() -> None:
    config = load_config(REPO / "jobs" / "jobs.yaml")
    assert [(spec.name, spec.kernel) for _, spec in config.jobs] == [
        ("sensors", "pyspark"),
        ("status", "pyspark"),
        ("join", "pyspark"),
    ]
    assert config.spark.master == "local[*]" and config.max_concurrent_runs == 2

    from headwater.flow.loader import load_flow

    flow = load_flow(REPO / "flows" / "job-status.yaml")
    assert "every-300s" in flow.processors and "poll-run" in flow.processors
