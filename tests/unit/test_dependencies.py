"""Kith declares what it imports, and uses no private module of another package."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN = {"kith", "app", "p2p", "storage"}  # kith: once the layers are kith.*


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(_canonical(match.group()))
    return names


def _imports() -> dict[str, set[str]]:
    """Every absolute import in Kith's code: top-level module -> dotted names imported."""
    found: dict[str, set[str]] = {}
    for top in OWN:
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(name)
    return found


def test_every_third_party_import_is_a_declared_dependency():
    distributions = packages_distributions()
    third_party = {
        top for top in _imports() if top not in OWN and top not in sys.stdlib_module_names
    }
    assert third_party, "the scan found no imports at all"
    declared = _declared()
    missing = {}
    for top in sorted(third_party):
        providers = {_canonical(d) for d in distributions.get(top, [])}
        assert providers, f"{top} is imported but no installed distribution provides it"
        if not providers & declared:
            missing[top] = sorted(providers)
    assert not missing, f"imported but not in [project] dependencies: {missing}"


def test_no_private_module_of_another_package_is_imported():
    private = sorted(
        name
        for top, names in _imports().items()
        if top not in OWN
        for name in names
        if any(part.startswith("_") and not part.startswith("__") for part in name.split("."))
    )
    assert private == [], f"private modules of other packages: {private}"
