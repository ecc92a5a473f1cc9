"""The agent's footprint: RSS and CPU of `headwater agent` running flows/agent.yaml.

A hub runs flows/hub.yaml in a process of its own; the agent runs the device flow as
`headwater agent --config ...` would on a device (site-to-site to the hub, C2
heartbeats, its provenance shipped), and psutil samples its resident memory and CPU
every two seconds after a warm-up. Two runs:

(a) readings only: a reading every second, the camera and the classifier switched off
    (`enabled: false`). Goals: at most 30 MB RSS, at most 2% of one core. Run three
    times: as installed here, as on a device, and as on a device over HTTPS with the
    agent's client certificate (`headwater tls init`), as the seed's devices send: TLS
    loads OpenSSL (libssl, libcrypto), which a plain-HTTP agent does without.
(b) the whole device: also an image every 10 s, classified on the device (int8;
    `headwater models prepare` once). Goal: at most 120 MB RSS.

Anchors printed beside them: MiNiFi Java's default heap, 256 MB, and MiNiFi's promise
of "less than 40 MB". The issue asks for the figure after 10 minutes (--seconds 600).

Run (a) twice: as installed here, and as on a device. This machine has development
tools installed (trio, click, pygments, rich) that httpx and httpcore import whenever
they are present, though neither needs them; `pip install headwater[agent]` on a device
brings none of them, so the second run starts the agent with them hidden. The sandbox
also puts a `.pth` file in site-packages that imports certifi, importlib.resources,
pathlib and zipfile into every interpreter at start-up (its egress proxy's CA, about
3 MB); a device has no such file, so the second run starts Python with `-S` and the
same `sys.path` the `.pth` files would have made, without running their code. And the
sandbox sets PYTHONDONTWRITEBYTECODE over an editable install, so no headwater module
would have its bytecode and every start would compile them all from source (0.2 MB
more resident, and the CPU of it); `pip install` compiles a package's bytecode, so the
bench writes it first (compileall, into the package's `__pycache__` folders).

    python bench/agent.py [--seconds 120] [--only readings|device]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import yaml

FLOWS = Path(__file__).resolve().parents[1] / "flows"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_hub(root: Path, tls: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """The hub on a free port; with ``tls`` (a `headwater tls init` folder), HTTPS that
    asks agents for their certificate."""
    address = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "headwater", "run", str(FLOWS / "hub.yaml")]
    command += ["--api", address, "--data-dir", str(root / "hub")]
    command += ["-p", f"lake={root / 'lake'}"]
    if tls is not None:
        command += ["--tls-cert", str(tls / "hub.pem"), "--tls-ca", str(tls / "ca.crt")]
        command += ["--tls-client-auth", "WANT"]
    url = f"{'https' if tls else 'http'}://{address}"
    hub = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            verify = str(tls / "ca.crt") if tls else True
            if httpx.get(f"{url}/api/v1/health", verify=verify).status_code == 200:
                return hub, url
        except httpx.TransportError:
            time.sleep(0.2)
    hub.kill()
    raise SystemExit("the hub did not start")


def agent_config(
    root: Path, name: str, hub_url: str, device: bool, tls: Path | None = None
) -> Path:
    flow = yaml.safe_load((FLOWS / "agent.yaml").read_text())
    if not device:
        for source in ("camera", "classify"):
            flow["processors"][source]["enabled"] = False
    ssl = {}
    if tls is not None:  # the agent's certificate, and the CA that signed the hub's
        ssl = {
            "Keystore Filename": str(tls / f"{name}.pem"),
            "Keystore Type": "PEM",
            "Truststore Filename": str(tls / "ca.crt"),
            "Truststore Type": "PEM",
        }
        flow.setdefault("services", {})["hub-tls"] = {
            "type": "StandardSSLContextService",
            "properties": ssl,
        }
        for processor in flow["processors"].values():
            if processor["type"] in ("RemoteProcessGroup", "SiteToSiteProvenanceReportingTask"):
                processor["properties"]["SSL Context Service"] = "hub-tls"
    (root / f"{name}-flow.yaml").write_text(yaml.safe_dump(flow, sort_keys=False))
    config = {
        "agent": {"id": name},
        "flow": f"{name}-flow.yaml",
        "data-dir": str(root / name),
        "parameters": {"hub_url": hub_url, "image_dir": str(root / name / "images")},
        "c2": {"urls": [hub_url], "heartbeat-period": "5 sec", **({"ssl": ssl} if ssl else {})},
    }
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


NOT_ON_A_DEVICE = ("trio", "click", "pygments", "rich")
_AS_ON_A_DEVICE = (
    "import sys\n"
    f"sys.path[:0] = {[p for p in sys.path if p]!r}  # as site would, without the .pth code\n"
    f"for name in {NOT_ON_A_DEVICE!r}: sys.modules[name] = None  # not installed there\n"
    "from headwater.cli import main\n"
    "sys.argv[:1] = ['headwater', 'agent']  # as the console script sees its command line\n"
    "sys.exit(main())\n"
)


def measure(config: Path, seconds: float, device: bool = False) -> tuple[list[float], float]:
    """RSS samples in MB, and CPU as a share of one core over the steady part."""
    launch = ["-S", "-c", _AS_ON_A_DEVICE] if device else ["-m", "headwater", "agent"]
    command = [sys.executable, *launch, "--config", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        agent = psutil.Process(process.pid)
        time.sleep(min(15.0, seconds / 4))  # start-up and model load are not steady
        cpu_start = sum(agent.cpu_times()[:2])
        started = time.monotonic()
        samples = []
        while time.monotonic() - started < seconds:
            samples.append(agent.memory_info().rss / 2**20)
            time.sleep(2.0)
        cpu = (sum(agent.cpu_times()[:2]) - cpu_start) / (time.monotonic() - started)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    if process.returncode not in (0, -15):
        raise SystemExit(f"the agent failed: {errors.decode()[-2000:]}")
    return samples, cpu


def report(label: str, samples: list[float], cpu: float, rss_goal: str, cpu_goal: str) -> None:
    print(label)
    print(
        f"  RSS   median {statistics.median(samples):6.1f} MB  max {max(samples):6.1f} MB"
        f"   (goal: {rss_goal}; MiNiFi Java default heap 256 MB, MiNiFi's promise < 40 MB)"
    )
    print(f"  CPU   {cpu * 100:5.2f}% of one core{cpu_goal}")


def tls_init(root: Path) -> Path:
    folder = root / "tls"
    command = [sys.executable, "-m", "headwater", "tls", "init", "--dir", str(folder)]
    subprocess.run([*command, "--agents", "readings"], check=True, capture_output=True)
    return folder


def compile_bytecode() -> None:
    """The package's ``.pyc`` files, as ``pip install`` leaves them."""
    import compileall

    import headwater

    compileall.compile_dir(Path(headwater.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--only", choices=("readings", "device"))
    args = parser.parse_args()
    compile_bytecode()
    readings = "(a) agent, readings only (no camera, no classifier)"
    with tempfile.TemporaryDirectory(prefix="hw-agent-") as tmp:
        root = Path(tmp)
        hub, url = start_hub(root)
        try:
            if args.only != "device":
                config = agent_config(root, "readings", url, False)
                for device in (False, True):
                    samples, cpu = measure(config, args.seconds, device)
                    where = "as on a device" if device else "as installed here"
                    label = f"{readings}, {where}, {args.seconds:.0f} s"
                    report(label, samples, cpu, "30 MB", "   (goal: 2%)")
            if args.only != "readings":
                samples, cpu = measure(agent_config(root, "device", url, True), args.seconds)
                label = "(b) agent, the whole device (image every 10 s, int8 classifier)"
                label += f", {args.seconds:.0f} s"
                report(label, samples, cpu, "120 MB", "")
        finally:
            hub.terminate()
            hub.wait(30)
        if args.only != "device":
            tls = tls_init(root)
            hub, url = start_hub(root / "over-tls", tls)
            try:
                config = agent_config(root, "readings", url, False, tls)
                samples, cpu = measure(config, args.seconds, True)
                label = f"{readings}, as on a device, over HTTPS, {args.seconds:.0f} s"
                report(label, samples, cpu, "30 MB", "   (goal: 2%)")
            finally:
                hub.terminate()
                hub.wait(30)


if __name__ == "__main__":
    main()
