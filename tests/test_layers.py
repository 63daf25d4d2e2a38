"""The layer contract, checked on the source: composition (the CLI, `parley.compose`) > `api` |
LiveKit worker > `agent` > ports (`parley.store`, `parley.signalling`, the inference client) >
core (settings, schemas). Every import is walked, those inside functions included."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSITION = ("parley.cli", "parley.cli_bench", "parley.cli_models", "parley.cli_services", "parley.cli_up",
               "parley.compose", "parley.__main__")
FORBIDDEN = {
    "agent": ("api", *COMPOSITION),
    "api": ("agent", *COMPOSITION),
    "inference_server": ("agent", "api", "parley.store", "parley.signalling", *COMPOSITION),
    "parley.store": ("agent", "api", "inference_server", *COMPOSITION),
    "parley.backoff": ("agent", "api", "inference_server", "parley.store"),
    "parley.settings": ("agent", "api", "inference_server", "parley.store"),
    "parley.signalling": ("agent", "api", "inference_server", "parley.store"),
    "parley.room_schemas": ("agent", "api", "inference_server", "parley.store"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            name = ".".join([*base, node.module] if node.module else base)
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(layer: str) -> list[str]:
    top = ROOT / Path(*layer.split("."))
    files = sorted(top.rglob("*.py")) if top.is_dir() else [top.with_suffix(".py")]
    return [f"{_module_name(path)} imports {name}"
            for path in files for name in sorted(_imports(path))
            if any(_within(name, banned) for banned in FORBIDDEN[layer])]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_one_above_it_or_beside_it(layer):
    assert _violations(layer) == []


def test_the_contract_check_sees_relative_and_function_level_imports(tmp_path, monkeypatch):
    package = tmp_path / "agent" / "sub"
    package.mkdir(parents=True)
    (tmp_path / "agent" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("def f():\n    from api.store import Store\n\nfrom ..events import X\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _imports(package / "mod.py") >= {"api.store", "agent.events", "agent.events.X"}
    assert _violations("agent") == ["agent.sub.mod imports api.store", "agent.sub.mod imports api.store.Store"]
