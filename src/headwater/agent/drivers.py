"""Drivers for the seed's breakout sensors, through the vendors' Python libraries.

The seed's device (a Raspberry Pi with Pimoroni breakouts) read its sensors with
``bme680``, ``ltr559``, ``lsm303d``, ``bh1745`` and ``VL53L1X``. Each driver imports
its library only when opened, and ``open_sensor`` answers None when the library is
not installed or no such sensor answers on the bus, so a device without the hardware
falls back to ``agent.simulation``. A reading is keyed as the simulation keys it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Reader = Callable[[], dict[str, float]]


def open_sensor(name: str) -> tuple[Reader | None, str]:
    """A reader for sensor ``name`` (see ``simulation.SENSORS``) and why there is none."""
    opener = _OPENERS[name]  # each library is named as its sensor is
    try:
        lib = importlib.import_module(name)
    except ImportError:
        return None, f"the {name} library is not installed"
    try:
        return opener(lib), ""
    except Exception as exc:  # vendor libraries raise OSError, RuntimeError, IOError...
        return None, f"no {name} answered ({type(exc).__name__}: {exc})"


def _bme680(lib: Any) -> Reader:
    try:
        sensor = lib.BME680(lib.I2C_ADDR_PRIMARY)
    except (OSError, RuntimeError):
        sensor = lib.BME680(lib.I2C_ADDR_SECONDARY)
    sensor.set_humidity_oversample(lib.OS_2X)
    sensor.set_pressure_oversample(lib.OS_4X)
    sensor.set_temperature_oversample(lib.OS_8X)
    sensor.set_filter(lib.FILTER_SIZE_3)
    last: dict[str, float] = {}

    def read() -> dict[str, float]:
        if sensor.get_sensor_data() or not last:  # False: no new sample yet, keep the last
            data = sensor.data
            last.update(
                tempc=float(data.temperature),
                pressure=float(data.pressure),
                humidity=float(data.humidity),
            )
        return dict(last)

    return read


def _ltr559(lib: Any) -> Reader:
    sensor = lib.LTR559()

    def read() -> dict[str, float]:
        sensor.update_sensor()
        return {"lux": float(sensor.get_lux()), "prox": int(sensor.get_proximity())}

    return read


def _lsm303d(lib: Any) -> Reader:
    sensor = lib.LSM303D(0x1D)

    def read() -> dict[str, float]:
        x, y, z = sensor.accelerometer()
        mx, my, mz = sensor.magnetometer()
        return {"accel_x": x, "accel_y": y, "accel_z": z, "mag_x": mx, "mag_y": my, "mag_z": mz}

    return read


def _bh1745(lib: Any) -> Reader:
    sensor = lib.BH1745()
    sensor.setup()
    sensor.set_leds(0)

    def read() -> dict[str, float]:
        red, green, blue, clear = sensor.get_rgbc_raw()
        return {"red": red, "green": green, "blue": blue, "clear": clear}

    return read


def _vl53l1x(lib: Any) -> Reader:
    sensor = lib.VL53L1X(i2c_bus=1, i2c_address=0x29)
    sensor.open()
    sensor.start_ranging(1)  # short range: up to 1.3 m, fastest

    def read() -> dict[str, float]:
        return {"distance": int(sensor.get_distance())}

    return read


_OPENERS: dict[str, Callable[[Any], Reader]] = {
    "bme680": _bme680,
    "ltr559": _ltr559,
    "lsm303d": _lsm303d,
    "bh1745": _bh1745,
    "VL53L1X": _vl53l1x,
}


def cpu_temperature() -> float | None:
    """The CPU's temperature in Celsius from psutil, or None where the OS reports none."""
    import psutil

    read = getattr(psutil, "sensors_temperatures", None)
    if read is None:
        return None
    try:
        found = read()
    except (OSError, RuntimeError):
        return None
    for name in ("cpu_thermal", "cpu-thermal", "coretemp", "k10temp", "soc_thermal", "acpitz"):
        if found.get(name):
            return float(found[name][0].current)
    for entries in found.values():
        if entries:
            return float(entries[0].current)
    return None
