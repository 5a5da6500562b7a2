"""A tiny, real ONNX segmentation model written by hand (the ``onnx`` package is not installed).

The model has the U²-Net interface — input ``input`` float ``[1, 3, H, W]`` (ImageNet-normalized
RGB), output ``[1, 1, H, W]`` — and computes ``-mean(channels)``: darker/more saturated pixels
score higher, which separates a red product from a light background. It exists to drive the
real onnxruntime code path of :class:`OnnxSegmentationEngine`, not to be a good model.

ONNX files are Protocol Buffers; the few message fields needed are encoded directly below
(field numbers from onnx.proto3).
"""

from __future__ import annotations

from pathlib import Path

_VARINT, _LEN = 0, 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == _LEN:
        return key + _varint(len(payload)) + payload
    return key + payload


def _int(number: int, value: int) -> bytes:
    return _field(number, _VARINT, _varint(value))


def _str(number: int, value: str) -> bytes:
    return _field(number, _LEN, value.encode("utf-8"))


def _msg(number: int, *parts: bytes) -> bytes:
    return _field(number, _LEN, b"".join(parts))


def _tensor_value_info(number: int, name: str, dims: list[int | str]) -> bytes:
    # ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1 (FLOAT), shape=2}}}
    shape = b"".join(_msg(1, _int(1, d) if isinstance(d, int) else _str(2, d)) for d in dims)
    return _msg(number, _str(1, name), _msg(2, _msg(1, _int(1, 1), _msg(2, shape))))


def build_model(input_size: int | None = None) -> bytes:
    """Serialized ModelProto; ``input_size`` fixes H and W, ``None`` leaves them dynamic."""
    height: int | str = input_size if input_size else "height"
    width: int | str = input_size if input_size else "width"
    # NodeProto{input=1, output=2, name=3, op_type=4, attribute=5}
    # AttributeProto{name=1, i=3, ints=8, type=20 (INT=2, INTS=7)}
    reduce_mean = _msg(
        1,
        _str(1, "input"),
        _str(2, "mean"),
        _str(3, "channel_mean"),
        _str(4, "ReduceMean"),
        _msg(5, _str(1, "axes"), _int(8, 1), _int(20, 7)),
        _msg(5, _str(1, "keepdims"), _int(3, 1), _int(20, 2)),
    )
    negate = _msg(1, _str(1, "mean"), _str(2, "output"), _str(3, "negate"), _str(4, "Neg"))
    graph = _msg(
        7,
        reduce_mean,
        negate,
        _str(2, "tiny_saliency"),
        _tensor_value_info(11, "input", [1, 3, height, width]),
        _tensor_value_info(12, "output", [1, 1, height, width]),
    )
    # ModelProto{ir_version=1, producer_name=2, graph=7, opset_import=8: {domain=1, version=2}}
    return _int(1, 7) + _str(2, "ai-cs-tests") + graph + _msg(8, _str(1, ""), _int(2, 13))


def write_model(path: Path, input_size: int | None = None) -> Path:
    """Write the model to ``path`` and return it."""
    path.write_bytes(build_model(input_size))
    return path
