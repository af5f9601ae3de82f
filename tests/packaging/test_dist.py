"""The wheel and the sdist, built from a copy of this checkout and installed into fresh venvs.

No network: the build uses the running environment's setuptools (``--no-isolation``) and
the installs take every dependency from a wheelhouse (``KITH_WHEELHOUSE``; ``.ci/run``
makes one). Without one the installs skip, saying so. Skip the whole module with
``-m "not packaging"``.

Each installed copy must run as a user would run it: ``kith --version`` (or ``--help``),
``kith init``, a daemon started on loopback and stopped with SIGTERM, ``kith
desktop-install`` pointing at that installation; the sdist must carry and pass the unit
tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DIST_NAME = "kith_messenger"  # the distribution kith-messenger, as file names spell it
CODE_DIRS = ("app", "p2p", "storage")
# What the wheel may install at the top of site-packages, and where the code goes in it:
# the layers themselves, or only `kith` once they are kith.app, kith.p2p and kith.storage.
NAMESPACED = (ROOT / "kith" / "__init__.py").is_file()
TOP_LEVEL = {"kith"} if NAMESPACED else set(CODE_DIRS)
IN_WHEEL = "kith/" if NAMESPACED else ""
DATA_IN_WHEEL = IN_WHEEL + "app/resources/"
IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".mypy_cache",
    ".ruff_cache", ".pytest_cache", ".hypothesis",
)
STEP_TIMEOUT = 300.0


def _run(*args: str | Path, cwd: Path, timeout: float = STEP_TIMEOUT, **env: str) -> str:
    """Run a command to the end; fail the test with its output unless it exits 0."""
    return _run_together([args], cwd, timeout, **env)[0]


def _run_together(
    commands: list[tuple[str | Path, ...]], cwd: Path, timeout: float = STEP_TIMEOUT, **env: str
) -> list[str]:
    """Run several commands at once, each to the end (their output goes to files, so
    none waits on a pipe); fail the test with the output of the first that does not
    exit 0. Their standard outputs, in order."""
    with contextlib.ExitStack() as stack:
        runs = []
        for args in commands:
            out = stack.enter_context(tempfile.TemporaryFile("w+"))
            err = stack.enter_context(tempfile.TemporaryFile("w+"))
            p = subprocess.Popen([str(a) for a in args], cwd=cwd, env=_clean_env(**env),
                                 stdout=out, stderr=err, text=True)
            stack.callback(lambda p=p: (p.poll() is None and p.kill(), p.wait()))
            runs.append((args, p, out, err))
        outputs = []
        for args, p, out, err in runs:
            p.wait(timeout=timeout)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
            assert p.returncode == 0, (
                f"{' '.join(map(str, args))} exited {p.returncode}\n"
                f"--- stdout\n{stdout[-4000:]}\n--- stderr\n{stderr[-4000:]}"
            )
            outputs.append(stdout)
        return outputs


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("PIP_")
    }
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONNOUSERSITE="1", PIP_NO_INPUT="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CONFIG_FILE=os.devnull, **extra)
    if env.get("PYTHON_KEYRING_BACKEND", "").startswith("keyringkit."):
        # the tests' keyring (tests/keyringkit.py) and nothing else of the repository:
        # the installed kith is what runs
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the sdist, and the wheel from that sdist (as ``python -m build`` does)."""
    pytest.importorskip("build", reason="the build tool is not installed (pip install build)")
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORE)  # the checkout stays untouched
    out = work / "out"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source, cwd=work)
    (sdist,) = out.glob(f"{DIST_NAME}-*.tar.gz")
    (wheel,) = out.glob(f"{DIST_NAME}-*-py3-none-any.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    value = os.environ.get("KITH_WHEELHOUSE", "")
    if not value or not Path(value).is_dir():
        pytest.skip(
            "no wheelhouse for an offline install: set KITH_WHEELHOUSE to a folder with "
            "wheels of every dependency (.ci/run makes one; CONTRIBUTING.md says how)"
        )
    return Path(value)


def _venv(path: Path, wheelhouse: Path, *requirements: str) -> Path:
    """A fresh venv at ``path`` with ``requirements`` installed offline; returns its bin/."""
    _run(sys.executable, "-m", "venv", path, cwd=path.parent)
    pip = [path / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-index"]
    _run(*pip, "--find-links", wheelhouse, *requirements, cwd=path.parent)
    return path / "bin"


# --- what the files contain -------------------------------------------------------------------


def _code_files(prefix: str = "") -> set[str]:
    return {
        prefix + str(p.relative_to(ROOT))
        for top in CODE_DIRS
        for p in (ROOT / top).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def test_wheel_installs_only_kiths_packages_and_all_of_them(dists: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    tops = {n.split("/")[0] for n in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == TOP_LEVEL, sorted(tops)
    assert not any(".data/" in n for n in names), "nothing outside site-packages (data-files)"
    assert _code_files(IN_WHEEL) <= names, sorted(_code_files(IN_WHEEL) - names)
    data = {"kith.svg", "kith-symbolic.svg", "kith.desktop", "kith.metainfo.xml",
            "icons/compose.svg", "icons/info.svg", "icons/settings.svg",
            "i18n/kith_de.qm", "i18n/sas-emoji.json"}  # (the translation, built)
    assert {DATA_IN_WHEEL + n for n in data} <= names
    assert not any(n.endswith(".png") for n in names)  # the README screenshots stay out
    (info,) = dist_info
    assert f"{info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(dists["wheel"]).read(f"{info}/METADATA").decode()
    assert "Name: kith-messenger" in metadata
    assert "License-Expression: MIT" in metadata


def test_sdist_carries_the_tests_and_their_vectors(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    expected = {
        "LICENSE", "README.md", "ARCHITECTURE.md", "CHANGELOG.md", "CONTRIBUTING.md",
        "constraints.txt", "pyproject.toml", "p2p/PROTOCOL.md", "tests/conftest.py",
        "tests/vectors/README.md", "tests/vectors/noise/cacophony.json",
        "tests/vectors/signal-fingerprint.json", "tests/vectors/sas-emoji.json",
        "resources/kith.metainfo.xml",
    }
    assert expected <= names, sorted(expected - names)
    assert _code_files() <= names
    assert not any(n.startswith(("resources/screenshots", ".venv", ".git/")) for n in names)


# --- installed copies, run as a user would ----------------------------------------------------


def _kith_runs(bin_dir: Path, home: Path) -> None:
    kith = bin_dir / "kith"
    version = subprocess.run(
        [kith, "--version"], cwd=home, env=_clean_env(HOME=str(home)), capture_output=True,
        text=True, timeout=60, check=False,
    )
    if version.returncode == 2 and "unrecognized arguments" in version.stderr:
        assert "desktop-install" in _run(kith, "--help", cwd=home, HOME=str(home))
    else:
        assert version.returncode == 0, version.stderr
        assert "0." in version.stdout + version.stderr

    profile = home / "profile"
    out = _run(kith, "--profile", profile, "init", "--name", "packaged", cwd=home, HOME=str(home))
    assert "packaged" in out
    _daemon_starts_and_stops(kith, profile, home)

    # The menu entry points at this very installation, and the app's icons are found in it.
    data = home / "share"
    _run(kith, "desktop-install", "--data-dir", data, cwd=home, HOME=str(home))
    (entry,) = (data / "applications").glob("*.desktop")
    assert f"Exec={kith}\n" in entry.read_text()
    module = "kith.app.gui.resources" if NAMESPACED else "kith.app.gui.resources"
    where = _run(
        bin_dir / "python", "-c", f"from {module} import icon_path; print(icon_path())", cwd=home
    ).strip()
    assert where.startswith(str(bin_dir.parent)), where


def _daemon_starts_and_stops(kith: Path, profile: Path, home: Path) -> None:
    command = [kith, "--profile", profile, "--interface", "127.0.0.1", "daemon"]
    proc = subprocess.Popen(
        command, cwd=home, env=_clean_env(HOME=str(home)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        ready = _line_matching(proc, r"^kith daemon ready", timeout=60)
        assert ready, f"no ready line; stderr: {proc.stderr.read() if proc.poll() else ''}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def _line_matching(proc: subprocess.Popen[str], pattern: str, timeout: float) -> str | None:
    """Wait (for a condition, up to ``timeout``) for a stdout line matching ``pattern``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    for line in _lines(proc, deadline):
        if re.search(pattern, line):
            return line
    return None


def _lines(proc: subprocess.Popen[str], deadline: float) -> Iterator[str]:
    assert proc.stdout is not None
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([proc.stdout], [], [], remaining)
        if not readable:
            return
        line = proc.stdout.readline()
        if not line:
            return  # the process closed stdout (it ended)
        yield line


def test_wheel_installs_and_runs(dists, wheelhouse, tmp_path) -> None:
    bin_dir = _venv(tmp_path / "venv", wheelhouse, str(dists["wheel"]))
    home = tmp_path / "home"
    home.mkdir()
    _kith_runs(bin_dir, home)


def test_sdist_installs_runs_and_passes_its_unit_tests(dists, wheelhouse, tmp_path) -> None:
    bin_dir = _venv(tmp_path / "venv", wheelhouse, f"{dists['sdist']}[test]")
    home = tmp_path / "home"
    home.mkdir()
    _kith_runs(bin_dir, home)

    with tarfile.open(dists["sdist"]) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (source,) = (tmp_path / "unpacked").iterdir()
    # -P: the tests import the installed package, not the unpacked sources beside them.
    # Every unit test, in two halves at once (the machine has two cores; most of a
    # half's time is its own CPU).
    pytest_ = (bin_dir / "python", "-P", "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider")
    outs = _run_together(
        [(*pytest_, "tests/unit/p2p"), (*pytest_, "tests/unit", "--ignore=tests/unit/p2p")],
        cwd=source, HOME=str(home),
    )
    for out in outs:
        assert re.search(r"\d+ passed", out), out[-2000:]
        assert " failed" not in out
        assert "vectors" not in out, out[-2000:]  # every vector test ran (no skip names them)
