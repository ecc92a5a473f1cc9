"""ReadSensors: the edge device's readings, in the seed's record shape.

The seed's devices ran a Python script (through MiNiFi's ExecuteProcess) that read the
system through psutil and five Pimoroni breakouts, and printed one JSON record per
reading (``seed/sensor_reading.json``). This processor is that script as a source: the
same keys, the same value formats (most numbers as text, ``"23.97"``; ``cputemp``,
``VL53L1X_distance_in_mm`` as whole numbers; ``memory`` as a number), one FlowFile per
trigger. Sensors without their library or hardware are simulated (``agent.simulation``)
and listed in the ``sensor.simulated.sensors`` attribute.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import orjson

from headwater.agent.drivers import Reader, cpu_temperature, open_sensor
from headwater.agent.simulation import SENSORS, SimulatedDevice
from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.device_camera import CameraImageRegistry
from headwater.units import parse_int

AUTO, ALWAYS, NEVER = "auto", "always", "never"
_CLOCK = "%m/%d/%Y %H:%M:%S"  # the seed's systemtime and starttime, device-local


class ReadSensors(Processor):
    """Reads the device (psutil and the seed's breakout sensors) into one JSON reading.

    Emits one FlowFile per trigger whose content is a reading with exactly the keys and
    value formats of the seed's ``sensor_reading.json``. ``uuid`` is
    ``<yyyyMMddHHmmss UTC>_<the FlowFile's uuid>``; ``te`` the seconds since the
    processor started (``starttime``); ``diskusage`` the free disk in MB; ``memory`` the
    percent in use. BME680, LTR559, LSM303D, BH1745 and VL53L1X are read through their
    vendors' libraries when installed and answering, and otherwise simulated as
    drifting values seeded by host name; so is ``cputemp`` where the OS reports none.
    With an Image Registry shared with CaptureImage, ``imgname`` and ``imgnamep`` name
    the camera's latest image and its processed copy (empty before the first image).
    """

    tags = ("sensor", "device", "agent", "edge", "iot", "psutil", "minifi")
    input_requirement = InputRequirement.FORBIDDEN
    default_schedule = "1 sec"

    SUCCESS = Relationship("success", "Every reading (application/json).")

    simulation = Property(
        "Simulation Mode",
        "auto: vendor library and hardware when present, else simulated; always: simulate"
        " every sensor; never: hardware only (scheduling fails without it)",
        default=AUTO,
        allowed=(AUTO, ALWAYS, NEVER),
    )
    seed = Property(
        "Random Seed",
        "Seed of the simulated values (a whole number); by default the host name, so each"
        " device keeps its own series",
        parse=parse_int,
    )
    host_name = Property(
        "Host Name", "The host field; by default the machine's host name", expression=True
    )
    ip_address = Property(
        "IP Address",
        "The ipaddress field; by default the first non-loopback IPv4 address",
        expression=True,
    )
    disk_path = Property(
        "Disk Path", "The file system whose free space is diskusage (MB)", default="/"
    )
    registry = Property[CameraImageRegistry](
        "Image Registry",
        "A CameraImageRegistry that CaptureImage also uses: imgname and imgnamep name its"
        " latest image",
        service=CameraImageRegistry,
    )

    def __init__(self) -> None:
        self._readers: dict[str, Reader] = {}
        self._device: SimulatedDevice | None = None
        self._cpu_simulated = True
        self._host = self._ip = self._starttime = ""
        self._start = 0.0

    def on_scheduled(self, context: ProcessContext) -> None:
        mode = context[self.simulation]
        self._host = context.get(self.host_name) or socket.gethostname()
        self._ip = context.get(self.ip_address) or _ip_address()
        self._readers, missing = {}, []
        for name in SENSORS:
            reader, why = open_sensor(name) if mode != ALWAYS else (None, "simulated")
            if reader is not None:
                self._readers[name] = reader
            else:
                missing.append(f"{name}: {why}")
        self._cpu_simulated = mode == ALWAYS or cpu_temperature() is None
        if mode == NEVER and (missing or self._cpu_simulated):
            if self._cpu_simulated:
                missing.append("cputemp: the OS reports no CPU temperature")
            raise ProcessException(
                "Simulation Mode is never, but " + "; ".join(missing) + "; install the vendor"
                " libraries and connect the sensors, or set Simulation Mode to auto"
            )
        seed = context.get(self.seed)
        self._device = SimulatedDevice(self._host if seed is None else seed)
        self._start = time.time()
        self._starttime = time.strftime(_CLOCK, time.localtime(self._start))
        if missing and mode == AUTO:
            context.logger.info("simulating %s", "; ".join(missing))

    def _read(self, name: str, simulated: list[str], context: ProcessContext) -> dict[str, float]:
        """A sensor's values: from its driver, or simulated (and listed in ``simulated``)
        when it has none or its read fails (an I2C glitch should not stop the device)."""
        reader = self._readers.get(name)
        if reader is not None:
            try:
                return reader()
            except Exception as exc:  # vendor libraries raise OSError, RuntimeError, ...
                context.logger.warning(
                    "reading %s failed (%s: %s); this reading simulates it",
                    name,
                    type(exc).__name__,
                    exc,
                )
        simulated.append(name)
        assert self._device is not None
        return self._device.read(name)

    def reading(
        self, context: ProcessContext, flowfile_uuid: str
    ) -> tuple[dict[str, Any], list[str]]:
        """One reading in the seed's shape (and key order), and the sensors simulated."""
        import psutil

        simulated: list[str] = []
        bme = self._read("bme680", simulated, context)
        ltr = self._read("ltr559", simulated, context)
        lsm = self._read("lsm303d", simulated, context)
        bh = self._read("bh1745", simulated, context)
        tof = self._read("VL53L1X", simulated, context)
        cpu = None if self._cpu_simulated else cpu_temperature()
        if cpu is None:
            assert self._device is not None
            cpu = self._device.read("cputemp")["cputemp"]
            simulated.append("cputemp")
        registry = context.get(self.registry)
        imgname, imgnamep = registry.latest() if registry is not None else ("", "")
        free = psutil.disk_usage(context[self.disk_path]).free
        end = time.time()
        record = {
            "uuid": f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(end))}_{flowfile_uuid}",
            "BH1745_clear": f"{bh['clear']:.1f}",
            "te": str(end - self._start),
            "host": self._host,
            "BH1745_blue": f"{bh['blue']:.1f}",
            "imgname": imgname,
            "lsm303d_accelerometer": "{:+06.2f}g : {:+06.2f}g : {:+06.2f}g".format(
                lsm["accel_x"], lsm["accel_y"], lsm["accel_z"]
            ),
            "cputemp": round(cpu),
            "systemtime": time.strftime(_CLOCK, time.localtime(end)),
            "memory": psutil.virtual_memory().percent,
            "bme680_tempc": f"{bme['tempc']:.2f}",
            "imgnamep": imgnamep,
            "bme680_pressure": f"{bme['pressure']:.2f}",
            "BH1745_red": f"{bh['red']:.1f}",
            "bme680_tempf": f"{bme['tempc'] * 1.8 + 32:.2f}",
            "diskusage": f"{free / 1024 / 1024:.1f}",
            "ltr559_lux": f"{ltr['lux']:06.2f}",
            "bme680_humidity": f"{bme['humidity']:.3f}",
            "lsm303d_magnetometer": "{:+06.2f} : {:+06.2f} : {:+06.2f}".format(
                lsm["mag_x"], lsm["mag_y"], lsm["mag_z"]
            ),
            "BH1745_green": f"{bh['green']:.1f}",
            "ipaddress": self._ip,
            "starttime": self._starttime,
            "ltr559_prox": f"{round(ltr['prox']):04d}",
            "VL53L1X_distance_in_mm": round(tof["distance"]),
            "end": str(end),
        }
        return record, simulated

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        ff = session.create()
        record, simulated = self.reading(context, ff.uuid)
        ff = session.write(ff, orjson.dumps(record))
        ff = session.put_all_attributes(
            ff,
            {
                "filename": f"sensor_{record['uuid']}.json",
                "mime.type": "application/json",
                "sensor.host": self._host,
                "sensor.simulated": "true" if simulated else "false",
                "sensor.simulated.sensors": ",".join(simulated),
            },
        )
        session.transfer(ff, self.SUCCESS)


def _ip_address() -> str:
    """The first non-loopback IPv4 address of the machine (no packet sent), or 127.0.0.1."""
    import psutil

    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    return "127.0.0.1"
