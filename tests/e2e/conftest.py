"""End-to-end tests: real `kith` processes on a virtual LAN of network namespaces.

Everything in this folder is marked ``e2e`` and skipped, with the reason, when the LAN
cannot be built safely here (not root, no `ip`, no `ip netns`, or a real network interface
in sight: run inside `unshare -n`, as .ci/run does).

A test class marked ``incremental`` runs as a sequence of steps: after a step fails, the
later steps of that class are skipped instead of failing for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from netlan import Lan, preflight

HERE = Path(__file__).resolve().parent
_skip_reason: list[str | None] = []  # computed once, on first need
_timings: dict[str, float] = {}


def _why_skip() -> str | None:
    if not _skip_reason:
        _skip_reason.append(preflight())
    return _skip_reason[0]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "incremental: the tests of a class are steps; skip the rest after a failure"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.path.is_relative_to(HERE)]
    if not ours:
        return
    reason = _why_skip()
    for item in ours:
        item.add_marker(pytest.mark.e2e)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    if report.failed and item.path.is_relative_to(HERE):
        lan = getattr(item, "funcargs", {}).get("lan")
        if isinstance(lan, Lan) and lan.processes:
            report.sections.append(("kith processes on the virtual LAN", lan.report()))
        if call.when == "call" and item.get_closest_marker("incremental") is not None:
            item.parent._failed_step = item.name  # type: ignore[union-attr]
    return report


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("incremental") is not None:
        failed = getattr(item.parent, "_failed_step", None)
        if failed is not None:
            pytest.skip(f"an earlier step failed: {failed}")


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lan]:
    """A virtual LAN shared by the tests of a module; add hosts with ``lan.add_host``.
    Teardown stops every process and deletes every namespace, veth and the bridge."""
    with Lan(tmp_path_factory.mktemp("lan")) as network:
        yield network


@pytest.fixture
def timings() -> dict[str, float]:
    """Record measurements here (name -> seconds); they are printed after the run."""
    return _timings


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _timings:
        terminalreporter.section("e2e timings")
        for name, seconds in _timings.items():
            terminalreporter.write_line(f"{name}: {seconds:.3f} s")
