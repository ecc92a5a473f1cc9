"""Static int8 quantization and manifest file entries, shared by the model preparers.

Both built-in models are quantized the same way (onnxruntime's static QDQ: int8 weights
per channel, uint8 activations, MinMax calibration); they differ only in their
calibration batches and in which nodes must stay fp32, which the caller decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from headwater.models.cache import sha256


def quantize_int8(
    fp32: Path,
    int8: Path,
    work: Path,
    batches: Sequence[npt.NDArray[np.float32]],
    input_name: str,
    keep_fp32: Callable[[Any], list[str]],
) -> list[str]:
    """Quantize ``fp32`` into ``int8``, calibrated on ``batches`` fed as ``input_name``;
    ``keep_fp32(graph)`` names the nodes to leave in fp32. Returns those names."""
    import onnx
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import (  # type: ignore[import-untyped]
        quant_pre_process,
    )

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches = iter(batches)

        def get_next(self) -> dict[str, Any] | None:
            batch = next(self._batches, None)
            return None if batch is None else {input_name: batch}

    optimized = work / "optimized.onnx"
    quant_pre_process(os.fspath(fp32), os.fspath(optimized), skip_symbolic_shape=True)
    excluded = keep_fp32(onnx.load(os.fspath(optimized)).graph)
    quantize_static(
        os.fspath(optimized),
        os.fspath(int8),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=excluded,
    )
    optimized.unlink()
    return excluded


def file_entries(
    work: Path, names: dict[str, str], wanted: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """The manifest's ``files``: each wanted variant and the labels (``names`` maps
    fp32, int8 and labels to file names in ``work``), with sha256 and size."""
    return {
        key: {
            "path": names[key],
            "sha256": sha256(work / names[key]),
            "bytes": (work / names[key]).stat().st_size,
        }
        for key in (*wanted, "labels")
    }
