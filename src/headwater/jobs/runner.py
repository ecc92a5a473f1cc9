"""``Runner``: each run is its own process (CDSW's "engine"), watched until it ends.

A run goes ``scheduling`` (its row exists) → ``starting`` (the process is being made)
→ ``running`` (the process exists) → ``succeeded | failed | stopped | timedout``.
The engine runs ``python -u SCRIPT`` in the project's folder with the job's
environment, its own process group (so a stop or a timeout ends Spark's JVM too),
stdout and stderr in the run's log file. ``cpu`` pins the process to that many cores
(its CPU share) and, for the ``pyspark`` kernel, sets Spark's ``local[n]``; ``memory``
is held by a watchdog that sums the resident memory of the engine's whole process tree
(the JVM included, which an address-space rlimit cannot cap sensibly) and kills it
past the cap, so the run fails as ``oomKilled``. A ``MemoryError`` or a JVM
``OutOfMemoryError`` in the log counts as out of memory too.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from headwater.jobs.config import SparkSettings
from headwater.jobs.spec import GB, JobSpec
from headwater.jobs.store import JobRow, JobStore, ProjectRow, RunRow, now

POLL = 0.05
STOP_GRACE = 3.0
LOG_TAIL = 4096


def find_java() -> tuple[str | None, str]:
    """Where ``java`` is, or ``None`` with what to do: PySpark needs it."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java and os.access(java, os.X_OK):
        return java, f"Java: {java}"
    where = f"JAVA_HOME={home} has no bin/java" if home else "no `java` on PATH"
    return None, (
        f"Java is missing ({where}): pyspark jobs cannot run; install a JRE 17+"
        " (apt-get install default-jre-headless) or set JAVA_HOME"
    )


@dataclass
class _Engine:
    run_id: str
    spec: JobSpec
    stop_requested: threading.Event = field(default_factory=threading.Event)
    stop_reason: str = "stopped on request"
    process: subprocess.Popen[bytes] | None = None
    thread: threading.Thread | None = None


class Runner:
    """Starts and watches runs; ``on_finish`` gets each run once it has ended."""

    def __init__(
        self,
        store: JobStore,
        spark: SparkSettings,
        log_dir: Path,
        on_finish: Callable[[RunRow], None] | None = None,
        *,
        base_environment: dict[str, str] | None = None,
        max_concurrent: int = 0,
    ) -> None:
        self.store = store
        self.spark = spark
        self.log_dir = log_dir
        self.on_finish = on_finish
        self.base_environment = dict(os.environ if base_environment is None else base_environment)
        self.java, _ = find_java()
        self._engines: dict[str, _Engine] = {}
        self._lock = threading.Lock()
        self._next_core = 0
        self._slots = threading.BoundedSemaphore(max_concurrent) if max_concurrent else None
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, job: JobRow, project: ProjectRow, environment: dict[str, str]) -> RunRow:
        """Record a run in ``scheduling`` and start its engine on a thread; returns at once."""
        run = self.store.create_run(job.id, {**job.spec.environment, **environment}, self.log_dir)
        engine = _Engine(run.id, job.spec)
        engine.thread = threading.Thread(
            target=self._run,
            args=(engine, job, project, run),
            name=f"job-run-{run.id}",
            daemon=True,
        )
        with self._lock:
            self._engines[run.id] = engine
        engine.thread.start()
        return run

    def stop(self, run_id: str) -> bool:
        """Ask a run in flight to stop (``stopping`` → ``stopped``); False when not in flight."""
        with self._lock:
            engine = self._engines.get(run_id)
        if engine is None:
            return False
        self.store.mark_stopping(run_id)
        engine.stop_requested.set()
        return True

    def in_flight(self) -> list[str]:
        with self._lock:
            return list(self._engines)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every run in flight and wait for their ends to be recorded."""
        with self._lock:
            engines = list(self._engines.values())
        for engine in engines:
            engine.stop_reason = "stopped: the jobs service shut down"
            engine.stop_requested.set()
        for engine in engines:
            if engine.thread is not None:
                engine.thread.join(timeout)

    def environment(self, spec: JobSpec, project: ProjectRow, run: RunRow) -> dict[str, str]:
        """The engine's variables: the service's, CDSW's, Spark's, then the job's and run's."""
        env = dict(self.base_environment)
        cores = max(1, math.ceil(spec.cpu))
        env |= {
            "PYTHONUNBUFFERED": "1",
            "CDSW_PROJECT": project.slug,
            "CDSW_PROJECT_ID": str(project.id),
            "CDSW_JOB_ID": str(run.job_id),
            "CDSW_ENGINE_ID": run.id,
            "CDSW_CPU_MILLICORES": str(int(spec.cpu * 1000)),
            "CDSW_MEMORY_MB": str(int(spec.memory * 1024)),
            "HEADWATER_RUN_ID": run.id,
            "SPARK_LOCAL_IP": self.spark.local_ip,
            "PYSPARK_PYTHON": sys.executable,
        }
        if spec.kernel == "pyspark":
            master = self.spark.master
            if master.startswith("local"):
                master = f"local[{cores}]"
            driver_memory = max(512, int(spec.memory * 1024 * 0.5))
            conf = {
                "spark.ui.enabled": "false",
                "spark.driver.host": self.spark.local_ip,
                "spark.sql.shuffle.partitions": str(max(2, cores * 2)),
                **self.spark.conf,
            }
            args = [f"--master {master}", f"--driver-memory {driver_memory}m"]
            # PySpark splits these with shlex: a value with spaces must be quoted
            args += [f"--conf {shlex.quote(f'{key}={value}')}" for key, value in conf.items()]
            env["PYSPARK_SUBMIT_ARGS"] = " ".join(args) + " pyspark-shell"
            env["HEADWATER_SPARK_MASTER"] = master
        return env | run.environment

    def _cores(self, cpu: float) -> set[int]:
        """``ceil(cpu)`` cores, taken in turn so that runs spread over the machine."""
        available = sorted(os.sched_getaffinity(0))
        count = min(len(available), max(1, math.ceil(cpu)))
        with self._lock:
            first = self._next_core
            self._next_core = (first + count) % len(available)
        return {available[(first + i) % len(available)] for i in range(count)}

    def _run(self, engine: _Engine, job: JobRow, project: ProjectRow, run: RunRow) -> None:
        slot = False
        try:
            slot = self._wait_for_slot(engine)
            if slot:
                self._engine(engine, job, project, run)
            else:
                self._finish(engine, "stopped", None, engine.stop_reason + " (still scheduling)")
        except Exception as exc:  # the run must end with a reason, whatever went wrong
            self._finish(engine, "failed", None, f"the engine could not run: {exc}")
        finally:
            if slot and self._slots is not None:
                self._slots.release()
            with self._lock:
                self._engines.pop(engine.run_id, None)
            ended = self.store.run(engine.run_id)
            if ended is not None and self.on_finish is not None:
                self.on_finish(ended)

    def _wait_for_slot(self, engine: _Engine) -> bool:
        """With ``max_concurrent``, a run stays ``scheduling`` until an engine ends;
        False when it was stopped while waiting."""
        if self._slots is None:
            return not engine.stop_requested.is_set()
        while not self._slots.acquire(timeout=POLL):
            if engine.stop_requested.is_set():
                return False
        if engine.stop_requested.is_set():
            self._slots.release()
            return False
        return True

    def _engine(self, engine: _Engine, job: JobRow, project: ProjectRow, run: RunRow) -> None:
        spec = job.spec
        self.store.update_run(run.id, status="starting", starting_at=now())
        script = Path(project.directory) / spec.script
        problem = None
        if not script.is_file():
            problem = f"no such script: {script}"
        elif spec.kernel == "pyspark" and self.java is None:
            problem = find_java()[1]
        if problem is not None:
            Path(run.log_path).write_text(problem + "\n", encoding="utf-8")
            self._finish(engine, "failed", None, problem)
            return
        with open(run.log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-u", str(script)],
                cwd=project.directory,
                env=self.environment(spec, project, run),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        engine.process = process
        try:
            os.sched_setaffinity(process.pid, self._cores(spec.cpu))
            started = psutil.Process(process.pid).create_time()
        except (OSError, psutil.Error):
            started = None
        self.store.update_run(
            run.id, status="running", running_at=now(), pid=process.pid, pid_started=started
        )
        self._watch(engine, process, time.monotonic())

    def _watch(self, engine: _Engine, process: subprocess.Popen[bytes], began: float) -> None:
        spec = engine.spec
        cap = spec.memory * GB
        timed_out = False
        check_memory = 0.0
        while process.poll() is None:
            if engine.stop_requested.wait(POLL):
                kill_group(process)
                self._finish(engine, "stopped", process.returncode, engine.stop_reason)
                return
            elapsed = time.monotonic() - began
            if spec.timeout is not None and elapsed > spec.timeout and not timed_out:
                timed_out = True
                if spec.timeout_kill:
                    kill_group(process)
                    reason = f"ran past its timeout of {spec.timeout:g} s and was killed"
                    self._finish(engine, "timedout", process.returncode, reason)
                    return
            if elapsed >= check_memory:
                check_memory = elapsed + 0.1
                used = tree_memory(process.pid)
                if used > cap:
                    kill_group(process)
                    reason = (
                        f"out of memory: the engine used {used / 2**20:.0f} MiB,"
                        f" over its {spec.memory:g} GB"
                    )
                    self._finish(engine, "failed", process.returncode, reason, oom=True)
                    return
        code = process.returncode
        tail = log_tail(self.store.run(engine.run_id))
        oom = "MemoryError" in tail or "java.lang.OutOfMemoryError" in tail
        if timed_out:
            self._finish(engine, "timedout", code, f"ran past its timeout of {spec.timeout:g} s")
        elif code == 0:
            self._finish(engine, "succeeded", code, "")
        else:
            reason = f"exited with code {code}" if code > 0 else f"ended by signal {-code}"
            self._finish(
                engine, "failed", code, ("out of memory; " if oom else "") + reason, oom=oom
            )

    def _finish(
        self, engine: _Engine, status: str, code: int | None, reason: str, *, oom: bool = False
    ) -> None:
        self.store.update_run(
            engine.run_id,
            status=status,
            finished_at=now(),
            exit_code=code,
            reason=reason,
            oom_killed=int(oom),
        )


def kill_group(process: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM the engine's process group, SIGKILL it after ``grace``; reap the engine."""
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        if signum == signal.SIGTERM:
            # what the engine started may still be there: end it too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        return


def kill_leftover(run: RunRow) -> None:
    """End the process group of a run a previous service left running (same pid, same
    start time: not a process that reused the id)."""
    if run.pid is None:
        return
    try:
        if (
            run.pid_started is None
            or abs(psutil.Process(run.pid).create_time() - run.pid_started) > 1
        ):
            return
        os.killpg(run.pid, signal.SIGKILL)
    except (psutil.Error, OSError):
        pass


def tree_memory(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def log_tail(run: RunRow | None, size: int = LOG_TAIL) -> str:
    """The last ``size`` bytes of a run's log, as text."""
    if run is None:
        return ""
    try:
        with open(run.log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - size))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""
