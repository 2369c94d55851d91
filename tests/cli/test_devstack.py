"""`nurture dev`'s supervisor in-process: which signals stop it (once), and the port check that
runs before anything starts."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from cli.devstack import STOP_SIGNALS, DevStack, PortsBusy, _stop_on_signals
from cli.processes import free_port
from models.settings import Settings


@pytest.fixture
def restored_signal_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.usefixtures("restored_signal_handlers")
def test_ctrl_c_kill_and_a_closed_terminal_interrupt_once(sig: int) -> None:
    _stop_on_signals()
    with pytest.raises(KeyboardInterrupt):
        # To this thread: delivered before pthread_kill returns, so the handler runs right here.
        signal.pthread_kill(threading.get_ident(), sig)
    # While the stack stops, further signals must not interrupt the stop itself.
    for other in STOP_SIGNALS:
        assert signal.getsignal(other) is signal.SIG_IGN


def stack(tmp_path: Path, **ports: int) -> DevStack:
    settings = Settings(
        data_dir=tmp_path / ".nurture",
        temporal_port=free_port(),
        api_port=free_port(),
        simulator_port=free_port(),
        worker_metrics_port=free_port(),
    ).model_copy(update=ports)
    return DevStack(settings, Console(quiet=True), ui=False)


def test_free_ports_pass_the_check(tmp_path: Path) -> None:
    stack(tmp_path).check_ports()


def test_a_busy_port_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        dev = stack(tmp_path, simulator_port=port)
        with pytest.raises(PortsBusy, match=rf"port {port} \(ESP simulator\).*--simulator-port"):
            dev.start()
    assert dev.children == []
    assert not (tmp_path / ".nurture").exists()


def test_a_port_given_twice_is_named(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(PortsBusy, match=rf"port {port} is given to both API and ESP simulator"):
        stack(tmp_path, api_port=port, simulator_port=port).check_ports()
