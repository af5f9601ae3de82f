"""Layering: app -> p2p -> storage, and no Qt below app/ (ARCHITECTURE.md §1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QT_PREFIXES = ("PySide", "PyQt", "shiboken", "qasync")
IMPORTERS = {"import_module", "__import__"}


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, nested ones included.

    Relative imports are resolved against the file's package; literal module names given
    to importlib.import_module() or __import__() count too.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(root).parent.parts
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            if not node.module:  # "from . import x": x may be a module
                found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in IMPORTERS and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((node.lineno, arg.value))
    return found


def _violations(root: Path, package: str, *, prefixes: tuple[str, ...] = (),
                packages: tuple[str, ...] = ()) -> list[str]:
    files = sorted((root / package).rglob("*.py"))
    assert files, f"no Python files under {root / package}"
    out = []
    for path in files:
        for line, module in _imports(path, root):
            top = module.removeprefix("kith.").split(".")[0]  # installed as kith.<layer>
            if top in packages or top.startswith(prefixes):
                out.append(f"{path.relative_to(root)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", ["p2p", "storage"])
def test_core_never_imports_qt(package: str) -> None:
    assert _violations(REPO, package, prefixes=QT_PREFIXES) == []


def test_storage_never_imports_p2p_or_app() -> None:
    assert _violations(REPO, "storage", packages=("p2p", "app")) == []


def test_p2p_never_imports_app() -> None:
    assert _violations(REPO, "p2p", packages=("app",)) == []


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    mod = tmp_path / "fakepkg" / "sub" / "mod.py"
    mod.parent.mkdir(parents=True)
    mod.write_text(
        "import os\n"
        "import PySide6.QtCore as qc\n"
        "from PyQt5 import QtWidgets\n"
        "from .. import app\n"
        "from ..sibling import thing\n"
        "from . import helper\n"
        "def later():\n"
        "    import qasync\n"
        "    importlib.import_module('shiboken6')\n"
        "    __import__('kith.app.cli')\n"
    )
    modules = {m for _, m in _imports(mod, tmp_path)}
    assert {
        "os", "PySide6.QtCore", "PyQt5", "fakepkg", "fakepkg.app", "fakepkg.sibling",
        "fakepkg.sub.helper", "qasync", "shiboken6", "kith.app.cli",
    } <= modules
    qt = _violations(tmp_path, "fakepkg", prefixes=QT_PREFIXES)
    assert [v.split(" imports ")[1] for v in qt] == ["PySide6.QtCore", "PyQt5", "qasync",
                                                    "shiboken6"]
    assert _violations(tmp_path, "fakepkg", packages=("app",)) == [
        "fakepkg/sub/mod.py:10 imports kith.app.cli"
    ]


@pytest.mark.parametrize("root", ["app", "p2p", "storage", "tests"])
def test_the_layers_are_imported_as_kith_packages(root: str) -> None:
    """The layers install as kith.app, kith.p2p and kith.storage (issue 14): a bare
    ``import p2p`` works in a checkout only, and in site-packages would find another
    distribution's package of that name."""
    bare = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sorted((REPO / root).rglob("*.py"))
        for line, module in _imports(path, REPO)
        if module.split(".")[0] in ("app", "p2p", "storage")  # (relative imports too)
    ]
    assert bare == []
