"""The processes a fault test breaks: a Temporal dev server it can kill and start again on the
same port and SQLite file, `python -m worker` children it can SIGKILL and restart, and API
processes (uvicorn, each with its event forwarder) it can SIGKILL."""

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
    """The `NURTURE_` variables that point a worker or API process at this test's stack."""
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
        "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY": settings.sendgrid_webhook_public_key,
    }


def worker_process(settings: Settings, log_dir: Path, name: str = "worker") -> ChildProcess:
    """`python -m worker` as `nurture dev` runs it; `.start()` again after a `.kill()`.

    Every start appends to the same log file, `{log_dir}/{name}.log`.
    """
    return ChildProcess(name, [sys.executable, "-m", "worker"], log_dir, worker_env(settings))


@dataclass
class ApiProcess:
    """`uvicorn --factory api.app:app_from_env` as `nurture dev` runs it: the API and its event
    forwarder in one process, on its own port."""

    child: ChildProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        """Start and return once it listens (its forwarder starts with it, in the lifespan)."""
        self.child.start().wait_for_port(self.port, timeout=60)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash would: requests in flight get no answer."""
        self.child.kill()

    def stop(self) -> None:
        self.child.stop()


def api_process(settings: Settings, log_dir: Path, name: str = "api") -> ApiProcess:
    """An API process on a free port (not started); logs to `{log_dir}/{name}.log`."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return ApiProcess(ChildProcess(name, argv, log_dir, worker_env(settings)), port)


__all__ = ["ApiProcess", "DevServer", "api_process", "worker_env", "worker_process"]
