"""Runs of plain Python scripts: each status a run can end in, with its reason, exit
code and log; a restart marks runs left in flight failed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from conftest import PROJECT, Jobs, auth, make_config
from headwater.errors import RepositoryError
from headwater.jobs.config import SparkSettings
from headwater.jobs.runner import find_java
from headwater.jobs.store import JobStore


def statuses_seen(jobs: Jobs, job_id: int, run_id: str) -> list[str]:
    """The statuses a run shows on its way to its end, in order, without repeats."""
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while not seen or seen[-1] not in ("succeeded", "failed", "stopped", "timedout"):
        status = jobs.run(job_id, run_id)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        assert time.monotonic() < deadline, seen
    return seen


def test_a_run_succeeds_with_its_timings_exit_code_and_log(jobs: Jobs) -> None:
    job = jobs.create(name="hello", script="hello.py")
    run_id = jobs.start(job["id"])["latest"]["id"]
    seen = statuses_seen(jobs, job["id"], run_id)
    assert seen[-1] == "succeeded"
    order = ["scheduling", "starting", "running", "succeeded"]
    assert all(s in order for s in seen) and seen == sorted(seen, key=order.index)
    run = jobs.run(job["id"], run_id)
    assert run["exit_code"] == 0 and run["reason"] == "" and not run["oomKilled"]
    assert run["created_at"] <= run["starting_at"] <= run["running_at"] <= run["finished_at"]
    assert run["duration"] > 0
    assert jobs.log(job["id"], run_id) == "hello from nobody\n"
    history = jobs.client.get(f"{PROJECT}/jobs/{job['id']}/runs", headers=auth()).json()
    assert [r["id"] for r in history] == [run_id]


def test_a_script_that_raises_fails_with_its_traceback_in_the_log(jobs: Jobs) -> None:
    job = jobs.create(name="boom", script="boom.py")
    run = jobs.wait(job["id"], jobs.start(job["id"])["latest"]["id"])
    assert (run["status"], run["exit_code"], run["oomKilled"]) == ("failed", 1, False)
    log = jobs.log(job["id"], run["id"])
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: boom: the data is bad" in log
    again = jobs.wait(job["id"], jobs.start(job["id"])["latest"]["id"])
    assert again["status"] == "failed"
    got = jobs.client.get(f"{PROJECT}/jobs/{job['id']}", headers=auth()).json()
    assert (got["total_runs"], got["total_failures"]) == (2, 2)
    exit3 = jobs.create(name="exit3", script="exit3.py")
    run = jobs.wait(exit3["id"], jobs.start(exit3["id"])["latest"]["id"])
    assert (run["status"], run["exit_code"], run["reason"]) == ("failed", 3, "exited with code 3")


def pid_of(jobs: Jobs, run_id: str) -> int:
    deadline = time.monotonic() + 10
    while True:
        run = jobs.service.store.run(run_id)
        assert run is not None
        if run.pid is not None:
            return run.pid
        assert time.monotonic() < deadline
        time.sleep(0.01)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_run_past_its_timeout_is_timedout_and_its_process_gone(jobs: Jobs) -> None:
    job = jobs.create(name="sleep", script="sleep.py", timeout="1 sec", timeout_kill=True)
    run_id = jobs.start(job["id"])["latest"]["id"]
    pid = pid_of(jobs, run_id)
    run = jobs.wait(job["id"], run_id)
    assert run["status"] == "timedout"
    assert "timeout of 1 s" in run["reason"]
    assert 1.0 <= run["run_duration"] < 6
    assert gone(pid)
    assert jobs.log(job["id"], run_id).startswith("sleeping")


def test_stop_makes_a_run_stopped_and_ends_its_process(jobs: Jobs) -> None:
    job = jobs.create(name="sleep", script="sleep.py")
    run_id = jobs.start(job["id"])["latest"]["id"]
    pid = pid_of(jobs, run_id)
    stopped = jobs.client.post(f"{PROJECT}/jobs/{job['id']}/stop", headers=auth())
    assert stopped.status_code == 200
    assert stopped.json()["latest"]["status"] in ("stopping", "stopped")
    run = jobs.wait(job["id"], run_id)
    assert (run["status"], run["reason"]) == ("stopped", "stopped on request")
    assert gone(pid)


def test_a_run_over_its_memory_fails_as_oom_killed(jobs: Jobs) -> None:
    job = jobs.create(name="hog", script="hog.py", memory="200 MB")
    run = jobs.wait(job["id"], jobs.start(job["id"])["latest"]["id"])
    assert (run["status"], run["oomKilled"]) == ("failed", True)
    assert "out of memory" in run["reason"] and "0.1953" in run["reason"]
    latest = jobs.client.get(f"{PROJECT}/jobs/{job['id']}", headers=auth()).json()["latest"]
    assert latest["oomKilled"] is True


def test_a_restart_keeps_jobs_and_runs_and_fails_those_in_flight(
    tmp_path: Path, open_jobs: Callable[..., Jobs]
) -> None:
    config = make_config(tmp_path)
    first = open_jobs(config)
    job = first.create(name="hello", script="hello.py")
    done = first.wait(job["id"], first.start(job["id"])["latest"]["id"])
    first.service.stop()

    # A service that died: a run row still "running", its engine still alive.
    engine = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        store = JobStore(config.data_dir / "jobs.sqlite")
        left = store.create_run(job["id"], {}, tmp_path)
        started = psutil.Process(engine.pid).create_time()
        store.update_run(left.id, status="running", pid=engine.pid, pid_started=started)
        store.close()

        second = open_jobs(config)
        assert second.service.recovered == 1
        assert engine.wait(5) == -9, "the engine the dead service left is ended"
        history = second.client.get(f"{PROJECT}/jobs/{job['id']}/runs", headers=auth()).json()
        assert [r["id"] for r in history] == [left.id, done["id"]]
        assert history[0]["status"] == "failed"
        assert "in flight" in history[0]["reason"]
        assert history[1]["status"] == "succeeded"
        got = second.client.get(f"{PROJECT}/jobs/{job['id']}", headers=auth()).json()
        assert (got["total_runs"], got["total_failures"]) == (2, 1)
    finally:
        engine.kill()
        engine.wait()


def test_without_timeout_kill_a_late_run_ends_on_its_own_as_timedout(jobs: Jobs) -> None:
    (jobs.service.store.path.parent.parent / "scripts" / "late.py").write_text(
        "import time\ntime.sleep(1)\nprint('done late')\n"
    )
    job = jobs.create(name="late", script="late.py", timeout="0.3 sec")
    run = jobs.wait(job["id"], jobs.start(job["id"])["latest"]["id"])
    assert (run["status"], run["exit_code"]) == ("timedout", 0)
    assert jobs.log(job["id"], run["id"]) == "done late\n"


def test_stopping_the_service_stops_its_runs_with_the_reason(jobs: Jobs) -> None:
    job = jobs.create(name="sleep", script="sleep.py")
    run_id = jobs.start(job["id"])["latest"]["id"]
    pid = pid_of(jobs, run_id)
    store_path = jobs.service.store.path
    jobs.service.stop()
    store = JobStore(store_path)
    try:
        run = store.run(run_id)
        assert run is not None
        assert (run.status, run.reason) == ("stopped", "stopped: the jobs service shut down")
    finally:
        store.close()
    assert gone(pid)


def test_without_java_the_service_says_what_is_missing_and_pyspark_runs_fail_clearly(
    jobs: Jobs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    java, message = find_java()
    assert java is None
    assert "JAVA_HOME=" in message and "install a JRE" in message
    jobs.service.runner.java = None
    job = jobs.create(name="spark", script="hello.py", kernel="pyspark")
    run = jobs.wait(job["id"], jobs.start(job["id"])["latest"]["id"])
    assert run["status"] == "failed" and "Java is missing" in run["reason"]
    assert "Java is missing" in jobs.log(job["id"], run["id"])


def test_a_pyspark_run_gets_spark_settings_from_the_configuration(jobs: Jobs) -> None:
    (jobs.service.store.path.parent.parent / "scripts" / "env.py").write_text(
        "import os\nfor k in ('PYSPARK_SUBMIT_ARGS', 'SPARK_LOCAL_IP', 'CDSW_ENGINE_ID'):\n"
        "    print(k, os.environ[k])\n"
    )
    jobs.service.runner.java = "/usr/bin/java"
    jobs.service.runner.spark = SparkSettings(conf={"spark.app.note": "two words"})
    job = jobs.create(name="env", script="env.py", kernel="pyspark", cpu=2, memory=4)
    run = jobs.wait(job["id"], jobs.start(job["id"])["latest"]["id"])
    log = jobs.log(job["id"], run["id"])
    assert "--master local[2] --driver-memory 2048m" in log
    assert "--conf spark.driver.host=127.0.0.1" in log and log.count("pyspark-shell") == 1
    assert "--conf 'spark.app.note=two words'" in log
    assert "SPARK_LOCAL_IP 127.0.0.1" in log and f"CDSW_ENGINE_ID {run['id']}" in log


def test_past_max_concurrent_runs_a_run_waits_in_scheduling(
    tmp_path: Path, open_jobs: Callable[..., Jobs]
) -> None:
    jobs = open_jobs(make_config(tmp_path, **{"max-concurrent-runs": 1}))
    job = jobs.create(name="sleep", script="sleep.py")
    first = jobs.start(job["id"])["latest"]["id"]
    pid_of(jobs, first)
    second = jobs.start(job["id"])["latest"]["id"]
    third = jobs.start(job["id"])["latest"]["id"]
    time.sleep(0.3)
    assert jobs.run(job["id"], second)["status"] == "scheduling"
    jobs.service.runner.stop(third)
    assert jobs.wait(job["id"], third)["reason"] == "stopped on request (still scheduling)"
    jobs.service.runner.stop(first)
    assert jobs.wait(job["id"], first)["status"] == "stopped"
    pid_of(jobs, second)
    assert jobs.run(job["id"], second)["status"] == "running"


def test_a_second_service_on_the_same_data_is_refused(
    tmp_path: Path, open_jobs: Callable[..., Jobs]
) -> None:
    config = make_config(tmp_path)
    first = open_jobs(config)
    with pytest.raises(RepositoryError, match=rf"another jobs service \(pid {os.getpid()}\)"):
        open_jobs(config)
    first.service.stop()
    open_jobs(config)
