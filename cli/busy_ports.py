"""Whether a local TCP port is taken and, where the OS tells (Linux `/proc`), which process holds
it: `nurture dev` checks its ports before starting anything and names the holder of a busy one."""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class PortHolder:
    """A process that has a socket bound to the port."""

    pid: int
    name: str
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.command or self.name})"


def port_busy(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could not bind `host:port` now. SO_REUSEADDR as servers set it, so a
    connection of a just-stopped server lingering in TIME_WAIT does not count as busy."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
        return False


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the sockets bound to local `port` (any address, IPv4 or IPv6)."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[9] != "0":
                inodes.add(fields[9])
    return inodes


def _describe(pid: int) -> PortHolder:
    name = command = ""
    try:
        name = (PROC / str(pid) / "comm").read_text().strip()
        raw = (PROC / str(pid) / "cmdline").read_bytes()
        command = " ".join(raw.decode(errors="replace").replace("\0", " ").split())
    except OSError:
        pass
    if len(command) > 120:
        command = command[:117] + "..."
    return PortHolder(pid, name, command)


def port_holders(port: int) -> list[PortHolder]:
    """The processes holding a socket on local `port`, as far as this user may see (Linux only:
    elsewhere, or for another user's processes, an empty list)."""
    inodes = _socket_inodes(port)
    if not inodes:
        return []
    wanted = {f"socket:[{inode}]" for inode in inodes}
    holders = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        if _fd_targets(entry) & wanted:
            holders.append(_describe(int(entry.name)))
    return holders


def _fd_targets(process: Path) -> set[str]:
    """What the open descriptors of a `/proc/<pid>` entry point at (empty for another user's)."""
    targets: set[str] = set()
    try:
        fds = list((process / "fd").iterdir())
    except OSError:  # gone meanwhile, or another user's process
        return targets
    for fd in fds:
        try:
            targets.add(os.readlink(fd))
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
    return targets


def busy_port_message(label: str, port: int, option: str) -> str:
    """One line for a busy port: which port, who holds it where we can tell, how to move."""
    holders = port_holders(port)
    held_by = (
        "held by " + ", ".join(str(h) for h in holders)
        if holders
        else "held by a process this user cannot see"
        if PROC.joinpath("net", "tcp").exists()
        else "in use"
    )
    return f"port {port} ({label}) is {held_by}; stop it or choose another port with {option}"


__all__ = ["PortHolder", "busy_port_message", "port_busy", "port_holders"]
