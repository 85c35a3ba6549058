"""Hosts of a test's own: Linux network namespaces, each with its own loopback and its own
empty folders, joined by veth pairs to a bridge in the root namespace, whose address (on a
private subnet nothing else here routes) is where the test's servers listen. Made with
iproute2's `ip`, as root; `Network.remove()` takes it all down again, with any process
still in a namespace."""

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from contextlib import suppress
from pathlib import Path

from .waiting import budget

BASE_DIR = Path(__file__).resolve().parents[2]


def ip(*args: str) -> str:
    """`ip ARGS`; its output (RuntimeError with its message if it fails)."""
    command = ["ip", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=budget(30))
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "making network namespaces needs iproute2's `ip`"
    return None


class Host:
    """A network namespace on the bridge, at `address`, with its own empty working folder,
    HOME, MEDIA_ROOT and TMPDIR (running_process(host=...) runs a process there)."""

    def __init__(self, network: "Network", name: str, number: int):
        self.name, self.network = name, network
        self.namespace = f"ip-{network.tag}-{name}"
        self.veth = f"ip{network.tag}v{number}"  # its end in the root namespace
        self.address = f"{network.prefix}.{number}"
        home = network.root / name
        self.folders = {
            name: home / name.lower() for name in ("HOME", "MEDIA_ROOT", "TMPDIR", "cwd")
        }
        self.cwd = self.folders["cwd"]

    def create(self) -> None:
        for folder in self.folders.values():
            folder.mkdir(parents=True)
        ip("netns", "add", self.namespace)
        ip(
            "link",
            "add",
            self.veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            self.namespace,
        )
        ip("link", "set", self.veth, "master", self.network.bridge, "up")
        inside = ("-n", self.namespace)
        ip(*inside, "address", "add", f"{self.address}/24", "dev", "eth0")
        ip(*inside, "link", "set", "eth0", "up")
        ip(*inside, "link", "set", "lo", "up")

    @property
    def env(self) -> dict[str, str]:
        # The code is imported from the checkout, not from the working folder.
        folders = {name: str(folder) for name, folder in self.folders.items() if name != "cwd"}
        return {**folders, "PYTHONPATH": str(BASE_DIR)}

    def command(self, command: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *command]

    def link(self, state: str) -> None:
        """Set its cable "down" (nothing reaches it, nor leaves it) or "up"."""
        ip("link", "set", self.veth, state)

    def routes(self) -> list[str]:
        """Its IPv4 routes (the bridge's subnet only: no way out)."""
        return ip("-n", self.namespace, "-4", "route", "show").splitlines()

    def route_to(self, address: str) -> str:
        return ip("-n", self.namespace, "-o", "route", "get", address)

    def written(self) -> list[str]:
        """Whatever its processes left in its folders."""
        return [str(path) for folder in self.folders.values() for path in folder.rglob("*")]

    def remove(self) -> None:
        """SIGKILL whatever still runs in its namespace, then delete the namespace (and with it
        its veth pair)."""
        with suppress(RuntimeError):
            for pid in ip("netns", "pids", self.namespace).split():
                with suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        with suppress(RuntimeError):
            ip("netns", "delete", self.namespace)
        with suppress(RuntimeError):  # gone with its namespace, unless that failed
            ip("link", "delete", self.veth)


class Network:
    """A bridge in the root namespace at `address` (x.x.x.1/24 on a /24 of 10.231.0.0/16 that
    no route or address here mentions yet), and the hosts added to it (x.x.x.2, .3...)."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.bridge = f"ip{self.tag}br"
        self.root = Path(tempfile.mkdtemp(prefix="image-parroter-hosts-"))
        self.hosts: list[Host] = []
        self.prefix = self.address = self.subnet = None

    def create(self) -> None:
        taken = ip("route", "show", "table", "all") + ip("-o", "address")
        third = next(n for n in range(256) if f"10.231.{n}." not in taken)
        self.prefix = f"10.231.{third}"
        self.address, self.subnet = f"{self.prefix}.1", f"{self.prefix}.0/24"
        ip("link", "add", self.bridge, "type", "bridge")
        ip("address", "add", f"{self.address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add(self, name: str) -> Host:
        host = Host(self, name, len(self.hosts) + 2)
        self.hosts.append(host)
        host.create()
        return host

    def assert_own(self, address: str, host: Host | None = None) -> None:
        """`address` is reached through this network's own links: from `host` (through its
        veth), or from the root namespace (through the bridge, or the bridge's own address)."""
        if host is not None:
            route = host.route_to(address)
            assert route.startswith(f"{address} dev eth0 "), route
            return
        route = ip("-o", "route", "get", address)
        if address == self.address:
            own = ip("-o", "-4", "address", "show", "dev", self.bridge)
            assert route.startswith(f"local {address} ") and f" {address}/24 " in own, route
        else:
            assert route.startswith(f"{address} dev {self.bridge} "), route

    def remove(self) -> None:
        for host in self.hosts:
            host.remove()
        with suppress(RuntimeError):
            ip("link", "delete", self.bridge)
        shutil.rmtree(self.root, ignore_errors=True)

    def leftovers(self) -> str:
        """What `ip` still shows of this network: nothing, once it was removed."""
        return "".join(
            line
            for line in (ip("netns", "list") + ip("-o", "link")).splitlines(keepends=True)
            if self.tag in line
        )
