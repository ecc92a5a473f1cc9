"""Simulated breakout sensors: plausible, drifting values for a device without hardware.

Each quantity is a bounded, mean-reverting random walk: every step pulls it a little
towards a baseline and adds noise, and the baseline itself wanders slowly, so the
series drifts as a room's climate does instead of jumping around. Values are clamped
to what the sensor can report. The generator is seeded from the host name (or from a
seed given for tests), so one device keeps its own climate across restarts, two
devices differ, and the same seed gives the same series.

>>> a, b = SimulatedDevice("piups"), SimulatedDevice("piups")
>>> a.read("bme680") == b.read("bme680")
True
>>> 0 <= a.read("ltr559")["ltr559_lux"] <= 2000
True
"""

from __future__ import annotations

import random
from collections.abc import Callable

SENSORS = ("bme680", "ltr559", "lsm303d", "bh1745", "VL53L1X")
"""The seed's breakout sensors, spelled as the seed's record keys spell them."""


class RandomWalk:
    """One quantity: mean-reverting noise around a slowly wandering baseline, clamped."""

    __slots__ = ("base", "high", "low", "reversion", "value", "volatility")

    def __init__(
        self, low: float, high: float, base: float, volatility: float, reversion: float = 0.05
    ) -> None:
        self.low, self.high = low, high
        self.base = self.value = base
        self.volatility = volatility
        self.reversion = reversion

    def step(self, rng: random.Random) -> float:
        span = self.high - self.low
        self.base = min(
            self.high - span * 0.1,
            max(self.low + span * 0.1, self.base + rng.gauss(0.0, self.volatility * 0.2)),
        )
        moved = self.value + self.reversion * (self.base - self.value)
        self.value = min(self.high, max(self.low, moved + rng.gauss(0.0, self.volatility)))
        return self.value


class SimulatedDevice:
    """The seed's sensors and CPU thermometer, simulated for one device."""

    def __init__(self, seed: int | str) -> None:
        self.rng = rng = random.Random(seed)
        # Baselines drawn once per device: a room between 18 and 26 degrees, and so on.
        self.tempc = RandomWalk(0.0, 45.0, rng.uniform(18.0, 26.0), 0.05)
        self.humidity = RandomWalk(5.0, 95.0, rng.uniform(25.0, 55.0), 0.15)
        self.pressure = RandomWalk(950.0, 1060.0, rng.uniform(995.0, 1025.0), 0.05)
        self.lux = RandomWalk(0.0, 2000.0, rng.uniform(20.0, 400.0), 4.0)
        self.prox = RandomWalk(0.0, 2047.0, rng.uniform(0.0, 60.0), 3.0)
        self.distance = RandomWalk(40.0, 4000.0, rng.uniform(300.0, 2000.0), 8.0)
        self.cputemp = RandomWalk(30.0, 85.0, rng.uniform(40.0, 55.0), 0.3)
        # The board lies still: gravity (1 g) along one axis, a slight tilt, some noise.
        axis, sign = rng.randrange(3), rng.choice((-1.0, 1.0))
        self.accel = [
            RandomWalk(-2.0, 2.0, sign if i == axis else rng.uniform(-0.1, 0.1), 0.01, 0.3)
            for i in range(3)
        ]
        self.mag = [RandomWalk(-1.0, 1.0, rng.uniform(-0.5, 0.5), 0.005, 0.2) for _ in range(3)]
        # The colour sensor sees the same light as the lux sensor, with the room's tint.
        self.tint = [RandomWalk(0.1, 0.6, rng.uniform(0.2, 0.45), 0.005) for _ in range(3)]
        self._readers: dict[str, Callable[[], dict[str, float]]] = {
            "bme680": self._bme680,
            "ltr559": self._ltr559,
            "lsm303d": self._lsm303d,
            "bh1745": self._bh1745,
            "VL53L1X": self._vl53l1x,
            "cputemp": self._cputemp,
        }

    def read(self, sensor: str) -> dict[str, float]:
        """One reading of ``sensor`` (a name from ``SENSORS``, or ``cputemp``), keyed as
        the hardware drivers key theirs (``agent.drivers``)."""
        return self._readers[sensor]()

    def _bme680(self) -> dict[str, float]:
        rng = self.rng
        return {
            "tempc": self.tempc.step(rng),
            "pressure": self.pressure.step(rng),
            "humidity": self.humidity.step(rng),
        }

    def _ltr559(self) -> dict[str, float]:
        return {"lux": self.lux.step(self.rng), "prox": round(self.prox.step(self.rng))}

    def _lsm303d(self) -> dict[str, float]:
        rng = self.rng
        x, y, z = (w.step(rng) for w in self.accel)
        mx, my, mz = (w.step(rng) for w in self.mag)
        return {"accel_x": x, "accel_y": y, "accel_z": z, "mag_x": mx, "mag_y": my, "mag_z": mz}

    def _bh1745(self) -> dict[str, float]:
        rng = self.rng
        clear = min(65535.0, self.lux.value * 1.6 + abs(rng.gauss(0.0, 1.0)))
        red, green, blue = (min(65535.0, clear * w.step(rng)) for w in self.tint)
        return {"red": red, "green": green, "blue": blue, "clear": clear}

    def _vl53l1x(self) -> dict[str, float]:
        return {"distance": round(self.distance.step(self.rng))}

    def _cputemp(self) -> dict[str, float]:
        return {"cputemp": round(self.cputemp.step(self.rng))}
