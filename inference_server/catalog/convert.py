"""Preparation steps that turn fetched model files into what the backend loads.

Moonshine's `.ort` graphs (moonshine-cpp) keep int8 weights and dequantize them
(Cast→Mul→Add) on every decoder step, ~5× slower than tiny.en here. Saved back to ONNX,
constant-folded to fp32 and re-quantized with onnxruntime's dynamic int8 quantizer, the same
model decodes a short question in about tiny.en's time (MODELS.md). Two runs with one
onnxruntime version give byte-identical files; the catalog pins the inputs' sha256 and the
marker records the outputs'.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .entries import ModelError


def _save_through_onnxruntime(source: Path, target: Path, level: str) -> None:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def _name_subgraphs(path: Path) -> None:
    """ORT saves If-node branches without names; the ONNX checker (and quantizer) want them."""
    import onnx

    model = onnx.load(str(path))
    counter = 0

    def visit(graph) -> None:
        nonlocal counter
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    if not attribute.g.name:
                        attribute.g.name = f"{node.name or node.op_type}_{attribute.name}_{counter}"
                        counter += 1
                    visit(attribute.g)

    visit(model.graph)
    onnx.save(model, str(path))


def moonshine_onnx_int8(directory: Path) -> None:
    """encoder_model.ort / decoder_model_merged.ort -> dynamic-int8 .onnx beside tokenizer.bin."""
    try:
        import onnx  # noqa: F401
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ModelError(f"converting Moonshine needs the `onnx` package ({exc}): "
                         "pip install 'parley[inference]'") from None
    for stem in ("encoder_model", "decoder_model_merged"):
        ort_file, plain, folded = (directory / f"{stem}.ort", directory / f"{stem}.plain.onnx",
                                   directory / f"{stem}.fp32.onnx")
        _save_through_onnxruntime(ort_file, plain, "ORT_DISABLE_ALL")
        _name_subgraphs(plain)
        _save_through_onnxruntime(plain, folded, "ORT_ENABLE_BASIC")
        quantize_dynamic(str(folded), str(directory / f"{stem}.onnx"), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gather"], extra_options={"EnableSubgraph": True})
        for leftover in (ort_file, plain, folded):
            leftover.unlink()


CONVERTERS: dict[str, Callable[[Path], None]] = {"moonshine-onnx-int8": moonshine_onnx_int8}


def converter_versions() -> dict[str, str]:
    """What produced the outputs: their bytes depend on these versions."""
    versions = {}
    for name in ("onnxruntime", "onnx"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return versions
