"""The watchdog that kills a parent's children when the parent dies however it dies, where the OS
has no parent-death signal (not Linux) or it cannot apply (a child started from another thread).

The parent keeps the write end of a pipe whose read end is the watchdog's stdin and writes
`+pgid` / `-pgid` lines as children start and stop. The kernel closes that pipe when the parent
exits, SIGKILL included; the watchdog reads end-of-file and SIGKILLs every process group still
listed. Run as `python -m cli.watchdog`, in a session of its own so a Ctrl-C in the terminal
reaches the parent, which stops its children politely first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading


class Watchdog:
    """The parent's side: one watchdog process per parent, started on first use (`watch`)."""

    def __init__(self) -> None:
        read_end, self._write_end = os.pipe()  # both non-inheritable: no other child holds them
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.watchdog"],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(read_end)

    def send(self, line: str) -> None:
        # BrokenPipeError: the watchdog was killed, nothing left to tell it.
        with contextlib.suppress(BrokenPipeError):
            os.write(self._write_end, f"{line}\n".encode())


_lock = threading.Lock()
_current: Watchdog | None = None


def watch(pgid: int) -> None:
    """Kill process group `pgid` when this process dies, unless `forget(pgid)` came first."""
    global _current
    with _lock:
        if _current is None or _current.proc.poll() is not None:
            _current = Watchdog()
        _current.send(f"+{pgid}")


def forget(pgid: int) -> None:
    """`pgid` was stopped and reaped: its number may be reused, so never kill it."""
    with _lock:
        if _current is not None:
            _current.send(f"-{pgid}")


def main() -> None:
    # The parent's Ctrl-C or SIGTERM must not end the watchdog before the parent has stopped.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin:
        sign, pgid = line[:1], int(line[1:])
        if sign == "+":
            groups.add(pgid)
        else:
            groups.discard(pgid)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


__all__ = ["Watchdog", "forget", "main", "watch"]

if __name__ == "__main__":
    main()
