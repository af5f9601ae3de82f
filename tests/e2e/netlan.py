"""A virtual LAN of network namespaces for end-to-end tests (ARCHITECTURE.md §10).

    current namespace (private: `unshare -n`)
    ┌──────────────────────── bridge kb<token> ────────────────────────┐
    │   kv<token>1            kv<token>2            kv<token>3          │
    └─────┬─────────────────────┬─────────────────────┬─────────────────┘
          │ veth                │ veth                │ veth
    ┌─────┴──────┐        ┌─────┴──────┐        ┌─────┴──────┐
    │ eth0 .11   │        │ eth0 .12   │        │ eth0 .13   │   10.99.<k>.0/24
    │ lo         │        │ lo         │        │ lo         │   224.0.0.0/4 via eth0
    └────────────┘        └────────────┘        └────────────┘
    netns kith-<token>-alice  kith-<token>-bob   kith-<token>-mallory

Every host is its own network namespace, so a daemon bound to "all interfaces" there sees
only lo and its eth0: nothing it sends can leave the bridge. The bridge lives in the
namespace pytest runs in, which must itself be private (`preflight()` refuses to build a
LAN next to a real network interface).

Processes started with ``Host.spawn`` write stdout/stderr to files so a failing test can
show them; ``Lan.close()`` stops them (SIGTERM, then SIGKILL), kills anything else still
inside the namespaces, and deletes namespaces, veths and the bridge. It is idempotent and
never raises before everything has been attempted.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
NETNS_PREFIX = "kith-"
_HOST_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
_POLL_INTERVAL = 0.05

T = TypeVar("T")


class LanError(RuntimeError):
    """Building or using the virtual LAN failed (the environment's fault, not Kith's)."""


# -- preflight -------------------------------------------------------------------------


def _ip(
    *args: str, netns: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise LanError(f"`{' '.join(argv)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result


def interfaces_with_addresses(netns: str | None = None) -> list[dict[str, Any]]:
    """`ip -j addr` of a namespace: one dict per interface."""
    out = _ip("-j", "addr", "show", netns=netns).stdout
    return list(json.loads(out or "[]"))


def foreign_interfaces(ours: Sequence[str] = ()) -> list[str]:
    """Interfaces here, other than lo and ``ours``, that are up and have an address:
    signs that this namespace is attached to a real network."""
    found = []
    for link in interfaces_with_addresses():
        name = link.get("ifname", "?")
        if name == "lo" or name in ours:
            continue
        if "UP" in link.get("flags", []) and link.get("addr_info"):
            addresses = ", ".join(a.get("local", "?") for a in link["addr_info"])
            found.append(f"{name} ({addresses})")
    return found


def preflight() -> str | None:
    """Why a virtual LAN cannot (or must not) be built here, or None if it can."""
    if os.geteuid() != 0:
        return "e2e tests need root (network namespaces); run .ci/run as root"
    if shutil.which("ip") is None:
        return "e2e tests need the `ip` command (iproute2)"
    try:
        foreign = foreign_interfaces()
    except (LanError, OSError, ValueError, subprocess.SubprocessError) as e:
        return f"cannot list network interfaces: {e}"
    if foreign:
        return (
            "refusing to build a virtual LAN next to a real network interface "
            f"({'; '.join(foreign)}): run inside `unshare -n sh -c 'ip link set lo up; ...'` "
            "as .ci/run does"
        )
    probe = f"{NETNS_PREFIX}probe-{secrets.token_hex(4)}"
    added = _ip("netns", "add", probe, check=False)
    if added.returncode != 0:
        return f"`ip netns add` does not work here: {added.stderr.strip()}"
    deleted = _ip("netns", "delete", probe, check=False)
    if deleted.returncode != 0:
        return f"`ip netns delete` does not work here: {deleted.stderr.strip()}"
    return None


# -- waiting ---------------------------------------------------------------------------


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    *,
    interval: float = _POLL_INTERVAL,
    what: str | None = None,
) -> T:
    """Call ``condition`` until it returns something truthy and return that; after
    ``timeout`` seconds raise AssertionError showing the last value it returned.

    For conditions on other processes (a CLI call, a log file), where there is no event
    to wait on; never a fixed sleep.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            label = what or getattr(condition, "__name__", "condition")
            raise AssertionError(
                f"timed out after {timeout} s waiting for {label}; last: {value!r}"
            )
        time.sleep(interval)


# -- processes -------------------------------------------------------------------------


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A command's argv, exit code, stdout and stderr, for assertion messages."""
    argv = result.args if isinstance(result.args, str) else " ".join(map(str, result.args))
    return (
        f"command: {argv}\nexit code: {result.returncode}\n"
        f"stdout:\n{_indent(result.stdout)}\nstderr:\n{_indent(result.stderr)}"
    )


def _indent(text: str | None) -> str:
    if not text:
        return "    (empty)"
    return "\n".join("    " + line for line in text.rstrip("\n").splitlines())


class CommandFailed(AssertionError):
    """A command exited with an unexpected code; the message shows its output."""


class Spawned(subprocess.Popen[bytes]):
    """A long-running process inside a host, its output going to two files."""

    def __init__(
        self,
        argv: list[str],
        *,
        label: str,
        stdout_path: Path,
        stderr_path: Path,
        env: dict[str, str],
        cwd: Path,
    ) -> None:
        self.label = label
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            super().__init__(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
                start_new_session=True,  # its own process group: signals reach only it
            )

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def report(self) -> str:
        state = "running" if self.poll() is None else f"exit code {self.returncode}"
        return (
            f"--- {self.label} (pid {self.pid}, {state})\n"
            f"command: {' '.join(map(str, self.args))}\n"
            f"stdout:\n{_indent(self.stdout_text())}\nstderr:\n{_indent(self.stderr_text())}"
        )

    def wait_for_line(self, pattern: str, timeout: float) -> str:
        """The first stdout line matching ``pattern`` (a regex); fails early, with the
        process's output, if it exits first."""
        regex = re.compile(pattern)

        def matching_line() -> str | None:
            for line in self.stdout_text().splitlines():
                if regex.search(line):
                    return line
            if self.poll() is not None:
                raise AssertionError(
                    f"{self.label} exited before printing /{pattern}/:\n{self.report()}"
                )
            return None

        try:
            return wait_until(matching_line, timeout, interval=0.01, what=f"/{pattern}/")
        except AssertionError as e:
            if self.poll() is not None:
                raise
            raise AssertionError(f"{e}\n{self.report()}") from None

    def stop(self, timeout: float = _STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL if still running after ``timeout``; the exit code."""
        if self.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.wait(timeout)
        return self.returncode

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass


# -- hosts and the LAN -----------------------------------------------------------------


@dataclass
class Host:
    """One machine on the virtual LAN: a network namespace with ``eth0`` at ``ip``."""

    name: str
    ip: str
    netns: str
    workdir: Path
    lan: Lan = field(repr=False)

    @property
    def profile(self) -> Path:
        """The default Kith profile folder of this host."""
        return self.workdir / "profile"

    def env(self) -> dict[str, str]:
        """The environment of processes on this host: nothing leaks into the real home."""
        env = dict(os.environ)
        home = self.workdir / "home"
        env.update(
            HOME=str(home),
            XDG_DATA_HOME=str(home / "data"),
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_CACHE_HOME=str(home / "cache"),
            XDG_STATE_HOME=str(home / "state"),
            QT_QPA_PLATFORM="offscreen",
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.pop("XDG_RUNTIME_DIR", None)
        return env

    def _argv(self, args: Sequence[str | os.PathLike[str]]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *map(str, args)]

    def run(
        self,
        args: Sequence[str | os.PathLike[str]],
        *,
        timeout: float = 30,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside this host and return its CompletedProcess (text)."""
        return subprocess.run(
            self._argv(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env=self.env(),
            cwd=REPO_ROOT,
            check=False,
        )

    def spawn(self, args: Sequence[str | os.PathLike[str]], *, label: str | None = None) -> Spawned:
        """Start a long-running command inside this host; the LAN stops it at teardown."""
        self.lan.spawn_count += 1
        label = f"{self.name}: {label or Path(str(args[0])).name}"
        stem = self.lan.workdir / "logs" / f"{self.lan.spawn_count:02d}-{self.name}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        process = Spawned(
            self._argv(args),
            label=label,
            env=self.env(),
            cwd=REPO_ROOT,
            stdout_path=stem.with_suffix(".out"),
            stderr_path=stem.with_suffix(".err"),
        )
        self.lan.processes.append(process)
        return process

    def kith_argv(self, *args: str, profile: Path | None = None) -> list[str]:
        """The argv of the `kith` command line with this host's profile."""
        return [sys.executable, "-m", "kith", "--profile", str(profile or self.profile), *args]

    def kith(
        self, *args: str, profile: Path | None = None, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run `kith ARGS` here; with ``check`` a non-zero exit fails with its output."""
        result = self.run(self.kith_argv(*args, profile=profile), timeout=timeout)
        if check and result.returncode != 0:
            raise CommandFailed(f"kith failed on {self.name}:\n{describe(result)}")
        return result

    def kith_json(self, *args: str, profile: Path | None = None, timeout: float = 30) -> Any:
        """Run `kith ARGS --json` here and return the decoded stdout."""
        result = self.kith(*args, "--json", profile=profile, timeout=timeout)
        try:
            return json.loads(result.stdout)
        except ValueError as e:
            raise CommandFailed(
                f"stdout is not JSON ({e}) on {self.name}:\n{describe(result)}"
            ) from None

    def kith_spawn(self, *args: str, profile: Path | None = None) -> Spawned:
        """Start a long-running `kith ARGS` (daemon, listen) here."""
        return self.spawn(self.kith_argv(*args, profile=profile), label=f"kith {args[0]}")


class Lan:
    """A bridge in the current namespace and hosts attached to it (see the module doc).

    Use as a context manager or call close(); close() is safe to call more than once.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.token = secrets.token_hex(3)
        self.subnet = secrets.randbelow(250) + 1  # 10.99.<subnet>.0/24, differs between runs
        self.bridge = f"kb{self.token}"
        self.hosts: dict[str, Host] = {}
        self.processes: list[Spawned] = []
        self.spawn_count = 0
        self._namespaces: list[str] = []
        self._links: list[str] = []  # created in the current namespace, deleted at close
        self._closed = False
        reason = preflight()
        if reason is not None:
            raise LanError(reason)
        # No STP delay; no IGMP snooping, so multicast floods like on a plain switch.
        options = "stp_state 0 forward_delay 0 mcast_snooping 0".split()
        _ip("link", "add", self.bridge, "type", "bridge", *options)
        self._links.append(self.bridge)
        try:
            _ip("link", "set", self.bridge, "up")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Lan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_host(self, name: str) -> Host:
        """A new host called ``name`` (lower-case letters and digits) on the bridge."""
        if not _HOST_NAME.match(name):
            raise ValueError(f"host name {name!r}: 1-12 lower-case letters/digits")
        if name in self.hosts:
            raise ValueError(f"host {name!r} exists")
        if self._closed:
            raise LanError("the LAN is closed")
        index = len(self.hosts) + 1
        netns = f"{NETNS_PREFIX}{self.token}-{name}"
        ip = f"10.99.{self.subnet}.{10 + index}"
        veth = f"kv{self.token}{index}"
        _ip("netns", "add", netns)  # fails if the name exists: then it is not ours to delete
        self._namespaces.append(netns)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
        self._links.append(veth)
        _ip("link", "set", veth, "master", self.bridge, "up")
        _ip("link", "set", "lo", "up", netns=netns)
        _ip("addr", "add", f"{ip}/24", "dev", "eth0", netns=netns)
        _ip("link", "set", "eth0", "up", netns=netns)
        # No default route on this LAN, so multicast needs its own (mDNS goes to 224.0.0.251).
        _ip("route", "add", "224.0.0.0/4", "dev", "eth0", netns=netns)
        workdir = self.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        host = Host(name=name, ip=ip, netns=netns, workdir=workdir, lan=self)
        self.hosts[name] = host
        return host

    def report(self) -> str:
        """The output of every process started on this LAN."""
        return "\n".join(p.report() for p in self.processes)

    def close(self) -> None:
        """Stop every process, delete namespaces and links; raise LanError at the end if
        something could not be removed."""
        if self._closed:
            return
        self._closed = True
        problems: list[str] = []
        for process in self.processes:
            try:
                process.stop()
            except Exception as e:  # keep going: the rest must still be cleaned up
                problems.append(f"stopping {process.label}: {e}")
        for netns in reversed(self._namespaces):
            self._kill_leftovers(netns, problems)
            result = _ip("netns", "delete", netns, check=False)
            if result.returncode != 0 and netns in _ip("netns", "list", check=False).stdout:
                problems.append(f"deleting netns {netns}: {result.stderr.strip()}")
        for link in reversed(self._links):
            if _ip("link", "show", link, check=False).returncode == 0:
                result = _ip("link", "delete", link, check=False)
                # (a deleted namespace takes its veth ends with it, asynchronously: a
                # link may go between the show and the delete; gone is what we want)
                if result.returncode != 0 and _ip("link", "show", link,
                                                  check=False).returncode == 0:
                    problems.append(f"deleting link {link}: {result.stderr.strip()}")
        if problems:
            raise LanError("virtual LAN teardown: " + "; ".join(problems))

    @staticmethod
    def _kill_leftovers(netns: str, problems: list[str]) -> None:
        """Kill whatever still runs in a namespace we created (a grandchild of a test)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = _ip("netns", "pids", netns, check=False).stdout.split()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(int(pid), sig)
                except (ProcessLookupError, ValueError):
                    pass
            try:
                wait_until(
                    lambda: not _ip("netns", "pids", netns, check=False).stdout.split(),
                    _STOP_TIMEOUT,
                    what=f"processes in {netns} to exit",
                )
            except AssertionError:
                continue
            return
        problems.append(f"processes left in {netns}")


# -- connectivity self-check -----------------------------------------------------------

_MCAST_RECEIVER = """
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])))
print("joined", flush=True)
s.settimeout(10)
data, source = s.recvfrom(1500)
print("got", data.decode(), "from", source[0], flush=True)
"""

_MCAST_SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
# No IP_MULTICAST_IF: the packet must find eth0 through the host's multicast route.
for _ in range(3):  # UDP: a few copies in case one is dropped
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.01)
"""

_TCP_ECHO = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as c:
    c.sendall(b"ping")
    print(c.recv(4).decode())
"""

_TCP_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); print("listening", flush=True)
s.settimeout(10)
c, _ = s.accept(); c.sendall(c.recv(4)); c.close()
"""


def check_lan(lan: Lan, group: str = "224.0.0.251", port: int = 5353) -> None:
    """Assert that every host reaches every other by TCP and by UDP multicast on the mDNS
    group and port; AssertionError says what did not get through."""
    hosts = list(lan.hosts.values())
    for server in hosts:
        listener = server.spawn([sys.executable, "-c", _TCP_SERVER, "7999"], label="tcp server")
        listener.wait_for_line("listening", 10)
        client = next(h for h in hosts if h is not server)
        result = client.run([sys.executable, "-c", _TCP_ECHO, server.ip, "7999"], timeout=15)
        assert result.stdout.strip() == "ping", (
            f"TCP {client.name} -> {server.name}:\n{describe(result)}"
        )
        listener.stop()
        lan.processes.remove(listener)  # passed: keep failure reports about Kith
    for sender in hosts:
        receivers = [
            (
                h,
                h.spawn(
                    [sys.executable, "-c", _MCAST_RECEIVER, str(port), group, h.ip],
                    label="multicast receiver",
                ),
            )
            for h in hosts
            if h is not sender
        ]
        for _, receiver in receivers:
            receiver.wait_for_line("joined", 10)
        token = f"hello-from-{sender.name}-{secrets.token_hex(2)}"
        result = sender.run([sys.executable, "-c", _MCAST_SENDER, group, str(port), token])
        assert result.returncode == 0, f"multicast send from {sender.name}:\n{describe(result)}"
        for host, receiver in receivers:
            line = receiver.wait_for_line("got", 10)
            assert f"got {token} from {sender.ip}" == line, (
                f"multicast {sender.name} -> {host.name}: {line}"
            )
            receiver.stop()
            lan.processes.remove(receiver)
