"""Hosts as Linux network namespaces on one private bridge, so nothing reaches anything by loopback.

Each host is a namespace `fundc-<name>` whose `eth0` is one end of a veth pair; the other end is a
port of the bridge `br0` in the switch namespace `fundc-sw`. The test process stays in the root
namespace and joins the bridge as host `ext` (the outside world: Stripe, the mail server, the
members), through the veth `fundc0`. Cutting a host sets its `eth0` down: its TCP peers see silence,
not a reset, as when a machine drops off the network.

Everything made here is named `fundc-*` / `fundc0`; `remove_all` deletes exactly those (processes in
them first), so a crashed run's leftovers are cleared by the next one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PREFIX = "fundc-"
SWITCH = f"{PREFIX}sw"
EXT_LINK = "fundc0"
SUBNET = "10.203.0"

# name -> last octet; `ext` is the root namespace (the test itself: Stripe and the mail server on
# .1, members' machines on MEMBERS).
ADDRESSES = {"ext": 1, "db": 10, "web1": 11, "web2": 12, "lb": 20, "work1": 31, "work2": 32}
MEMBERS = [f"{SUBNET}.{n}" for n in range(2, 6)]


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=30)


def our_namespaces() -> list[str]:
    out = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def remove_all() -> None:
    """Kill every process left in our namespaces, then delete them (their links go with them)."""
    for ns in our_namespaces():
        pids = ip("netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    for ns in our_namespaces():
        for _ in range(20):
            if ip("netns", "pids", ns, check=False).stdout.strip() == "":
                break
            time.sleep(0.1)
        ip("netns", "del", ns, check=False)
    ip("link", "del", EXT_LINK, check=False)


@dataclass
class Host:
    name: str
    address: str
    scratch: Path

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.name}"

    def argv(self, command: Sequence[str]) -> list[str]:
        """`command` run inside this host: its network and its own hostname (a UTS namespace)."""
        return [
            "ip", "netns", "exec", self.netns,
            "unshare", "--uts", "--",
            "sh", "-c", f'hostname {self.name} && exec "$@"', "sh", *command,
        ]  # fmt: skip

    def start(
        self, command: Sequence[str], *, env: dict[str, str], log: str, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a long-running process on this host; its output goes to `<scratch>/<log>.log`."""
        out: IO[Any] = open(self.scratch / f"{log}.log", "ab")  # noqa: SIM115 - kept by the child
        try:
            return subprocess.Popen(
                self.argv(command), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            out.close()

    def run(
        self, command: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        result = subprocess.run(
            self.argv(command), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode:
            raise AssertionError(
                f"{self.name}: {' '.join(command)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def link(self, up: bool) -> None:
        ip("-n", self.netns, "link", "set", "eth0", "up" if up else "down")


class Network:
    """The bridge and the hosts on it. Use as a context manager: leaving it removes everything."""

    def __init__(self, names: Sequence[str], scratch: Path) -> None:
        self.hosts: dict[str, Host] = {}
        self.ext_address = f"{SUBNET}.{ADDRESSES['ext']}"
        for name in names:
            folder = scratch / name
            folder.mkdir(parents=True, exist_ok=True)
            self.hosts[name] = Host(name, f"{SUBNET}.{ADDRESSES[name]}", folder)

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def __enter__(self) -> Network:
        remove_all()
        try:
            self._build()
        except BaseException:
            remove_all()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        remove_all()

    def _build(self) -> None:
        ip("netns", "add", SWITCH)
        ip("-n", SWITCH, "link", "add", "br0", "type", "bridge")
        ip("-n", SWITCH, "link", "set", "br0", "up")
        ip("link", "add", EXT_LINK, "type", "veth", "peer", "name", "fcp-ext")
        self._plug("fcp-ext")
        ip("addr", "add", f"{self.ext_address}/24", "dev", EXT_LINK)
        for member in MEMBERS:
            ip("addr", "add", f"{member}/24", "dev", EXT_LINK)
        ip("link", "set", EXT_LINK, "up")
        for host in self.hosts.values():
            ip("netns", "add", host.netns)
            ip("-n", host.netns, "link", "set", "lo", "up")
            ip("link", "add", f"fc-{host.name}", "type", "veth", "peer", "name", f"fcp-{host.name}")
            ip("link", "set", f"fc-{host.name}", "netns", host.netns)
            ip("-n", host.netns, "link", "set", f"fc-{host.name}", "name", "eth0")
            ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip("-n", host.netns, "link", "set", "eth0", "up")
            self._plug(f"fcp-{host.name}")

    def _plug(self, link: str) -> None:
        ip("link", "set", link, "netns", SWITCH)
        ip("-n", SWITCH, "link", "set", link, "master", "br0")
        ip("-n", SWITCH, "link", "set", link, "up")
