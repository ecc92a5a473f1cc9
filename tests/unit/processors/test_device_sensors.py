"""ReadSensors: the seed's record shape, drifting simulated values, vendor drivers."""

from __future__ import annotations

import itertools
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from headwater.errors import ProcessException
from headwater.processors.device_camera import CameraImageRegistry, ImageNames
from headwater.processors.device_sensors import ReadSensors
from headwater.testing import TestRunner

# seed/sensor_reading.json, as the seed's device wrote it (key order included).
SEED_READING: dict[str, Any] = json.loads("""{
  "uuid": "20190213043439_e58bee05-142b-4b7e-a28b-fec0305ab125",
  "BH1745_clear": "0.0", "te": "601.1575453281403", "host": "piups", "BH1745_blue": "0.0",
  "imgname":
    "/opt/demo/images/bog_image_20190213043439_e58bee05-142b-4b7e-a28b-fec0305ab125.jpg",
  "lsm303d_accelerometer": "+00.08g : -01.01g : +00.09g", "cputemp": 44,
  "systemtime": "02/12/2019 23:34:39", "memory": 45.7, "bme680_tempc": "23.97",
  "imgnamep":
    "/opt/demo/images/bog_image_p_20190213043439_e58bee05-142b-4b7e-a28b-fec0305ab125.jpg",
  "bme680_pressure": "1000.91", "BH1745_red": "0.0", "bme680_tempf": "75.15",
  "diskusage": "9622.5", "ltr559_lux": "000.00", "bme680_humidity": "24.678",
  "lsm303d_magnetometer": "+00.03 : +00.42 : -00.11", "BH1745_green": "0.0",
  "ipaddress": "192.168.1.166", "starttime": "02/12/2019 23:24:38", "ltr559_prox": "0000",
  "VL53L1X_distance_in_mm": 553, "end": "1550032479.3900714"
}""")

# What each text value looks like in the seed; every seed value must match its pattern.
FORMATS = {
    "uuid": r"\d{14}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "BH1745_clear": r"\d+\.\d",
    "BH1745_red": r"\d+\.\d",
    "BH1745_green": r"\d+\.\d",
    "BH1745_blue": r"\d+\.\d",
    "te": r"\d+(\.\d+)?(e-\d+)?",
    "end": r"\d{10}\.\d+",
    "lsm303d_accelerometer": r"[+-]\d\d\.\d\dg : [+-]\d\d\.\d\dg : [+-]\d\d\.\d\dg",
    "lsm303d_magnetometer": r"[+-]\d\d\.\d\d : [+-]\d\d\.\d\d : [+-]\d\d\.\d\d",
    "systemtime": r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d",
    "starttime": r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d",
    "bme680_tempc": r"-?\d+\.\d\d",
    "bme680_tempf": r"-?\d+\.\d\d",
    "bme680_pressure": r"\d+\.\d\d",
    "bme680_humidity": r"\d+\.\d{3}",
    "diskusage": r"\d+\.\d",
    "ltr559_lux": r"\d{3,}\.\d\d",
    "ltr559_prox": r"\d{4}",
    "ipaddress": r"\d+\.\d+\.\d+\.\d+",
}
SENSOR_KEYS = [k for k in SEED_READING if k.startswith(("bme680", "ltr559", "lsm303d", "BH1745"))]
SENSOR_KEYS += ["VL53L1X_distance_in_mm"]


def readings(properties: dict[str, str], count: int) -> list[dict[str, Any]]:
    with TestRunner(ReadSensors, properties) as runner:
        runner.run(count)
        return [json.loads(f.content) for f in runner.transferred(ReadSensors.SUCCESS)]


def test_the_seed_matches_the_formats_the_tests_hold_readings_to() -> None:
    for key, pattern in FORMATS.items():
        assert re.fullmatch(pattern, SEED_READING[key]), key


def test_a_reading_has_the_seeds_keys_in_order_types_and_formats() -> None:
    with TestRunner(ReadSensors, {"Random Seed": "1"}) as runner:
        runner.run(1)
        (out,) = runner.transferred(ReadSensors.SUCCESS)
        assert runner.provenance_types() == ["CREATE"]
    reading = json.loads(out.content)
    assert list(reading) == list(SEED_READING)
    assert {k: type(v) for k, v in reading.items()} == {
        k: type(v) for k, v in SEED_READING.items() if k not in ("imgname", "imgnamep")
    } | {"imgname": str, "imgnamep": str}
    for key, pattern in FORMATS.items():
        assert re.fullmatch(pattern, reading[key]), (key, reading[key])
    assert reading["uuid"].endswith("_" + out.uuid)  # the reading names its FlowFile
    assert reading["imgname"] == reading["imgnamep"] == ""  # no camera linked
    assert float(reading["bme680_tempf"]) == pytest.approx(
        float(reading["bme680_tempc"]) * 1.8 + 32, abs=0.011
    )
    assert reading["starttime"] <= reading["systemtime"]
    assert 0 <= float(reading["te"]) < 60
    assert out.attributes["mime.type"] == "application/json"
    assert out.attributes["filename"] == f"sensor_{reading['uuid']}.json"


def test_the_reading_fits_the_sensor_schema() -> None:
    schema = json.loads((Path(__file__).parents[3] / "flows/schemas/sensor.avsc").read_text())
    (reading,) = readings({}, 1)
    assert {f["name"] for f in schema["fields"]} == set(reading)


def test_simulated_sensors_are_marked() -> None:
    with TestRunner(ReadSensors, {"Simulation Mode": "always"}) as runner:
        runner.run(1)
        (out,) = runner.transferred(ReadSensors.SUCCESS)
    assert out.attributes["sensor.simulated"] == "true"
    assert out.attributes["sensor.simulated.sensors"].split(",") == [
        "bme680",
        "ltr559",
        "lsm303d",
        "bh1745",
        "VL53L1X",
        "cputemp",
    ]


def _vector(text: str) -> list[float]:
    return [float(part.strip().rstrip("g")) for part in text.split(":")]


def test_simulated_values_stay_in_bounds_and_drift_slowly() -> None:
    series = readings({"Random Seed": "7"}, 300)
    temps = [float(r["bme680_tempc"]) for r in series]
    assert all(0 <= t <= 45 for t in temps)
    assert len(set(temps)) > 50  # it moves...
    assert max(abs(a - b) for a, b in itertools.pairwise(temps)) < 0.5  # ...slowly
    for r in series:
        assert 5 <= float(r["bme680_humidity"]) <= 95
        assert 950 <= float(r["bme680_pressure"]) <= 1060
        assert 0 <= float(r["ltr559_lux"]) <= 2000
        assert 0 <= int(r["ltr559_prox"]) <= 2047
        assert 40 <= r["VL53L1X_distance_in_mm"] <= 4000
        assert 30 <= r["cputemp"] <= 85
        accel = _vector(r["lsm303d_accelerometer"])
        assert 0.8 < sum(a * a for a in accel) ** 0.5 < 1.2  # a board lying still: 1 g
        assert all(-1 <= m <= 1 for m in _vector(r["lsm303d_magnetometer"]))
        assert 0 <= float(r["BH1745_red"]) <= float(r["BH1745_clear"]) <= 65535
    assert len({r["VL53L1X_distance_in_mm"] for r in series}) > 10


def test_the_same_seed_gives_the_same_series_and_another_seed_another() -> None:
    def sensors(properties: dict[str, str]) -> list[list[Any]]:
        return [[r[k] for k in SENSOR_KEYS] for r in readings(properties, 5)]

    assert sensors({"Random Seed": "42"}) == sensors({"Random Seed": "42"})
    assert sensors({"Random Seed": "42"}) != sensors({"Random Seed": "43"})


def test_without_a_seed_each_host_keeps_its_own_series() -> None:
    def first(host: str) -> list[Any]:
        (r,) = readings({"Host Name": host, "IP Address": "10.0.0.9"}, 1)
        assert (r["host"], r["ipaddress"]) == (host, "10.0.0.9")
        return [r[k] for k in SENSOR_KEYS]

    assert first("bog-1") == first("bog-1")
    assert first("bog-1") != first("bog-2")


def test_readings_name_the_latest_image_of_a_linked_camera() -> None:
    with TestRunner(ReadSensors, {"Image Registry": "camera"}) as runner:
        registry = runner.add_service("camera", CameraImageRegistry())
        assert isinstance(registry, CameraImageRegistry)
        runner.run(1, stop=False)
        registry.publish(ImageNames("/opt/demo/images/bog_image_1.jpg", "/p.jpg"))
        runner.run(1)
        first, second = (json.loads(f.content) for f in runner.transferred("success"))
    assert (first["imgname"], first["imgnamep"]) == ("", "")
    assert (second["imgname"], second["imgnamep"]) == ("/opt/demo/images/bog_image_1.jpg", "/p.jpg")


def test_never_simulating_without_hardware_refuses_to_start() -> None:
    with (
        TestRunner(ReadSensors, {"Simulation Mode": "never"}) as runner,
        pytest.raises(ProcessException, match="bme680 library is not installed"),
    ):
        runner.run(1)


def test_a_vendor_library_present_is_used_and_not_marked_simulated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class FakeLTR559:  # the Pimoroni ltr559 API the driver calls
        updates = 0

        def update_sensor(self) -> None:
            FakeLTR559.updates += 1

        def get_lux(self) -> float:
            return 12.3456

        def get_proximity(self) -> int:
            return 7

    monkeypatch.setitem(sys.modules, "ltr559", types.SimpleNamespace(LTR559=FakeLTR559))
    with TestRunner(ReadSensors) as runner:
        runner.run(2)
        out = runner.transferred(ReadSensors.SUCCESS)
    reading = json.loads(out[-1].content)
    assert (reading["ltr559_lux"], reading["ltr559_prox"]) == ("012.35", "0007")
    assert FakeLTR559.updates == 2
    assert "ltr559" not in out[-1].attributes["sensor.simulated.sensors"].split(",")
    assert "bme680" in out[-1].attributes["sensor.simulated.sensors"].split(",")


def test_configuration_is_checked() -> None:
    with TestRunner(ReadSensors, {"Simulation Mode": "sometimes"}) as runner:
        runner.assert_invalid("Simulation Mode")
        runner.set_property("Simulation Mode", "auto")
        runner.set_property("Random Seed", "ten")
        runner.assert_invalid("Random Seed")
        runner.remove_property("Random Seed")
        runner.assert_valid()


def test_a_failing_hardware_read_is_simulated_for_that_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class FakeBME680:  # the Pimoroni bme680 API the driver calls
        calls = 0
        data = types.SimpleNamespace(temperature=21.5, pressure=1003.25, humidity=40.1234)

        def __init__(self, address: int) -> None:
            self.address = address

        def __getattr__(self, name: str) -> Any:  # set_*_oversample, set_filter
            return lambda *args: None

        def get_sensor_data(self) -> bool:
            FakeBME680.calls += 1
            if FakeBME680.calls == 2:
                raise OSError("I2C bus error")
            return True

    library = types.SimpleNamespace(
        BME680=FakeBME680, I2C_ADDR_PRIMARY=0x76, I2C_ADDR_SECONDARY=0x77, OS_2X=2, OS_4X=3
    )
    library.OS_8X, library.FILTER_SIZE_3 = 4, 2
    monkeypatch.setitem(sys.modules, "bme680", library)
    with TestRunner(ReadSensors, {"Random Seed": "3"}) as runner:
        runner.run(3)
        out = runner.transferred(ReadSensors.SUCCESS)
        bulletins = [b.message for b in runner.node.bulletins]
    simulated = [f.attributes["sensor.simulated.sensors"].split(",") for f in out]
    assert ["bme680" in s for s in simulated] == [False, True, False]
    first, _, third = (json.loads(f.content) for f in out)
    assert (first["bme680_tempc"], first["bme680_tempf"]) == ("21.50", "70.70")
    assert (first["bme680_pressure"], third["bme680_humidity"]) == ("1003.25", "40.123")
    assert any("I2C bus error" in message for message in bulletins)
