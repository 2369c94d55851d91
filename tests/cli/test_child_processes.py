"""Children started through `cli.processes.ChildProcess` die with their parent however it dies:
by the Linux parent-death signal (started from the main thread) or through the watchdog
(started from another thread, or where the OS has no such signal); and `busy_ports` names the
holder of a port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli.busy_ports import busy_port_message, port_busy, port_holders

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads processes from /proc"
)

#: A parent that starts children three ways, prints their pids as JSON, then waits to be killed.
PARENT = textwrap.dedent(
    """
    import json, subprocess, sys, threading, time
    from pathlib import Path
    from cli import watchdog
    from cli.processes import ChildProcess

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    logs = Path(sys.argv[1])
    main_thread = ChildProcess("main", sleeper, logs).start()
    other = ChildProcess("thread", sleeper, logs)
    starter = threading.Thread(target=other.start)
    starter.start()
    starter.join()  # the starting thread is gone: a parent-death signal would have fired
    forgotten = subprocess.Popen(sleeper, start_new_session=True)
    watchdog.watch(forgotten.pid)
    watchdog.forget(forgotten.pid)
    print(json.dumps({"main": main_thread.proc.pid, "thread": other.proc.pid,
                      "forgotten": forgotten.pid}), flush=True)
    time.sleep(60)
    """
)


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_children_die_with_a_sigkilled_parent_by_pdeathsig_or_watchdog(tmp_path: Path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    pids: dict[str, int] = {}
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        assert all(running(pid) for pid in pids.values())
        time.sleep(0.5)  # the thread's child outlives its starting thread
        assert running(pids["thread"])
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while (running(pids["main"]) or running(pids["thread"])) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(pids["main"]), "the parent-death signal did not kill the child"
        assert not running(pids["thread"]), "the watchdog did not kill the child"
        assert running(pids["forgotten"]), "the watchdog killed a child it was told to forget"
    finally:
        parent.kill()
        for pid in pids.values():
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_listening_socket_makes_its_port_busy_and_names_this_process():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        held.listen()
        assert port_busy(port)
        holders = port_holders(port)
        assert [h.pid for h in holders] == [os.getpid()]
        message = busy_port_message("API", port, "--api-port")
        assert f"port {port} (API) is held by pid {os.getpid()} (" in message
        assert "--api-port" in message
    assert not port_busy(port)
    assert port_holders(port) == []
