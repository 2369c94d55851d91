"""The processes a fault test breaks: a Temporal dev server it can kill and start again on the
same port and SQLite file, and `python -m worker` children it can SIGKILL and restart."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from cli.processes import ChildProcess, free_port, temporal_dev_server
from models.settings import Settings


@dataclass
class DevServer:
    """A Temporal dev server persisted to `db_file` (WAL, search attributes registered)."""

    child: ChildProcess
    port: int

    @classmethod
    def persisted(cls, log_dir: Path, db_file: Path) -> DevServer:
        port = free_port()
        return cls(temporal_dev_server(log_dir, db_file=db_file, port=port, ui_port=None), port)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (again: same port, same file) and return once the frontend listens."""
        self.child.start().wait_for_port(self.port, timeout=60)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.child.kill()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        self.child.stop()


def worker_env(settings: Settings) -> dict[str, str]:
    """The `NURTURE_` variables that point a worker process at this test's stack."""
    return {
        # A test stack (the simulator, test secrets): not the production default.
        "NURTURE_ENV": "dev",
        "NURTURE_DATA_DIR": str(settings.data_dir),
        "NURTURE_DATABASE_URL": settings.effective_database_url,
        "NURTURE_TEMPORAL_ADDRESS": settings.temporal_address,
        "NURTURE_TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "NURTURE_TASK_QUEUE": settings.task_queue,
        "NURTURE_SENDGRID_HOST": settings.sendgrid_host,
        "NURTURE_SENDGRID_API_KEY": settings.sendgrid_api_key,
        "NURTURE_SECRET_KEY": settings.secret_key,
        "NURTURE_PUBLIC_URL": settings.public_url,
        "NURTURE_INBOUND_DOMAIN": settings.inbound_domain,
        "NURTURE_CONTACT_WEEKLY_CAP": str(settings.contact_weekly_cap),
    }


def worker_process(settings: Settings, log_dir: Path, name: str = "worker") -> ChildProcess:
    """`python -m worker` as `nurture dev` runs it; `.start()` again after a `.kill()`.

    Every start appends to the same log file, `{log_dir}/{name}.log`.
    """
    return ChildProcess(name, [sys.executable, "-m", "worker"], log_dir, worker_env(settings))


__all__ = ["DevServer", "worker_env", "worker_process"]
