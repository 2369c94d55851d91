"""The benchmark's own stack, started as `nurture dev` starts it (`cli.devstack.DevStack`): the
Temporal dev server on a SQLite file with the WAL pragmas and the search attributes, the ESP
simulator playing the bench scenario back to the API, the API with its forwarder, nurture's
worker — plus the raw baseline's worker, the cohort launcher (`bench.launcher`), and, once the
launch part asks for them, a nurture worker and a raw worker for the launched workflows (the
actions part: a second simulator where no mail is opened, and a worker sending to it; the kill
part: a worker it kills). Each is a process of its own, on free ports, under a temporary data
directory; logs go to `<data dir>/logs`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bench.figures import process_cpu_seconds
from cli.devstack import DevStack
from cli.processes import ChildProcess, free_port
from models.settings import PROJECT_ROOT, Settings
from simulator.scenario import Delays, Scenario, StepRates

API_KEY = "SG.bench"
RAW_TASK_QUEUE = "bench-raw"
#: The bench's cohort launcher (`bench.launcher`) polls this one.
LAUNCHER_TASK_QUEUE = "bench-launcher"
#: Where the launcher enrolls and the raw launch baseline starts: polled only once timed.
LAUNCHED_TASK_QUEUE = "bench-launched"
RAW_LAUNCHED_TASK_QUEUE = "bench-raw-launched"
#: `trade_intro`'s longest path: a worker polls it that sends to the quiet simulator.
LONGEST_TASK_QUEUE = "bench-longest"
#: The kill part's enrollments: polled by the worker it kills, then by its replacement.
KILL_TASK_QUEUE = "bench-kill"

#: Every intro is processed, delivered, opened and clicked at once; other mails are processed
#: and delivered. So every enrollment takes the same path — intro → open → click → offer — with
#: no timer running out: a sequence lasts as long as the engine takes, not as its waits.
BENCH_SCENARIO = Scenario(
    name="bench",
    steps={"trade_intro/intro": StepRates(open=1.0, click=1.0)},
    delays=Delays(processed=(0.0, 0.0), delivered=(0.0, 0.0), open=(0.0, 0.0), click=(0.0, 0.0)),
    duplicate=0.0,
    reorder=0.0,
)

#: Every mail processed and delivered at once, none opened: `trade_intro`'s longest path (intro
#: unopened → bump → case study → offer) for the enrollments of a worker sending here.
QUIET_SCENARIO = Scenario(
    name="bench-quiet",
    delays=Delays(processed=(0.0, 0.0), delivered=(0.0, 0.0)),
    duplicate=0.0,
    reorder=0.0,
)


@dataclass
class BenchStack(DevStack):
    """`nurture dev`'s processes on free ports, headless, with the bench scenario and a raw
    worker. The metrics port is left off so nurture's worker and the raw one are configured
    alike."""

    #: How long the simulator gathers events before posting a batch (SendGrid: up to 30 s).
    flush_seconds: float = 0.5

    @classmethod
    def create(cls, data_dir: Path, *, flush_seconds: float = 0.5) -> BenchStack:
        settings = Settings(
            env="dev",
            data_dir=data_dir,
            database_url="",
            temporal_port=free_port(),
            temporal_ui_port=free_port(),
            api_port=free_port(),
            simulator_port=free_port(),
            task_queue="nurture-bench",
            sendgrid_api_key=API_KEY,
            log_format="json",
        )
        scenario = data_dir / "bench-scenario.json"
        data_dir.mkdir(parents=True, exist_ok=True)
        scenario.write_text(BENCH_SCENARIO.model_dump_json())
        return cls(
            settings,
            Console(stderr=True),
            ui=False,
            scenario=str(scenario),
            flush_seconds=flush_seconds,
        )

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.settings.temporal_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def database_url(self) -> str:
        return self.settings.effective_database_url

    def child_env(self) -> dict[str, str]:
        env = super().child_env()
        env.pop("NURTURE_WORKER_METRICS_PORT", None)
        env["NURTURE_SIMULATOR_FLUSH_SECONDS"] = str(self.flush_seconds)
        env["NURTURE_LOG_FORMAT"] = "json"
        env["PYTHONPATH"] = str(PROJECT_ROOT)
        return env  # bytecode under the data directory comes with DevStack's environment

    def start(self) -> None:
        super().start()
        self.start_raw_worker("raw-worker", RAW_TASK_QUEUE)
        launcher = ["-m", "bench.launcher", "--task-queue", LAUNCHER_TASK_QUEUE]
        self.start_child("launcher", [*launcher, "--enroll-onto", LAUNCHED_TASK_QUEUE])

    def start_child(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> ChildProcess:
        """Start `python <argv>` as a child named `name` (stopped with the stack)."""
        child = ChildProcess(
            name, [sys.executable, *argv], self.log_dir, {**self.child_env(), **(env or {})}
        )
        self._start(child, None)
        return child

    def start_raw_worker(self, name: str, task_queue: str) -> ChildProcess:
        argv = ["-m", "bench.raw_worker", "--address", self.temporal_address]
        argv += ["--task-queue", task_queue, "--signal-delay", str(self.flush_seconds)]
        return self.start_child(name, argv)

    def start_worker(
        self, name: str, task_queue: str, *, sendgrid_host: str | None = None
    ) -> ChildProcess:
        """Another nurture worker (`python -m worker`), polling `task_queue`, sending to the
        simulator at `sendgrid_host` if given (else the stack's)."""
        env = {"NURTURE_TASK_QUEUE": task_queue}
        if sendgrid_host is not None:
            env["NURTURE_SENDGRID_HOST"] = sendgrid_host
        return self.start_child(name, ["-m", "worker"], env)

    def start_quiet_simulator(self, name: str = "simulator-quiet") -> str:
        """A second simulator, playing `QUIET_SCENARIO` back to the same API with the same
        signing key; its URL."""
        port = free_port()
        scenario = self.data_dir / "bench-quiet-scenario.json"
        scenario.write_text(QUIET_SCENARIO.model_dump_json())
        events = f"{self.api_url}/webhooks/sendgrid"
        argv = ["-m", "simulator", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--api-key", self.settings.sendgrid_api_key, "--scenario", str(scenario)]
        argv += ["--webhook-url", f"{events}/events", "--inbound-url", f"{events}/inbound"]
        argv += ["--webhook-private-key-file", str(self.webhook_key()[0])]
        child = ChildProcess(name, [sys.executable, *argv], self.log_dir, self.child_env())
        self._start(child, port)
        return f"http://127.0.0.1:{port}"

    def kill_child(self, name: str) -> None:
        """SIGKILL a child, as a crash would (no cleanup in it), and forget it."""
        for child in [c for c in self.children if c.name == name]:
            child.kill()
            self.children.remove(child)

    def stop_child(self, name: str) -> None:
        for child in [c for c in self.children if c.name == name]:
            child.stop()
            self.children.remove(child)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each child and by this (the driver) process."""
        used = {"driver": round(time.process_time(), 2)}
        for child in self.children:
            if child.running and child.proc is not None:
                used[child.name] = round(process_cpu_seconds(child.proc.pid), 2)
        return used

    async def quiet(
        self, names: tuple[str, ...], *, below: float = 0.05, within: float = 900
    ) -> float:
        """Seconds until the named processes are idle: each used under `below` of a core over
        two consecutive seconds (what they were asked to do is done)."""
        began = time.monotonic()
        last = self.cpu_seconds()
        calm = 0
        while calm < 2:
            if time.monotonic() - began > within:
                raise TimeoutError(f"{', '.join(names)} still busy after {within:.0f}s")
            await asyncio.sleep(1.0)
            now = self.cpu_seconds()
            busy = any(now.get(n, 0.0) - last.get(n, 0.0) >= below for n in names)
            calm = 0 if busy else calm + 1
            last = now
        return time.monotonic() - began - 2.0

    @contextlib.contextmanager
    def profiled(self, part: str, out_dir: Path | None) -> Iterator[None]:
        """With `out_dir`: py-spy samples the Python children while the part runs, one
        collapsed-stack file each (`<part>-<child>.txt`, for flamegraph tools or grep)."""
        if out_dir is None:
            yield
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        spies = []
        for child in self.children:
            if child.name != "temporal" and child.running and child.proc is not None:
                argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw"]
                argv += ["--rate", "50", "--nonblocking"]
                argv += ["-o", str(out_dir / f"{part}-{child.name}.txt")]
                argv += ["-p", str(child.proc.pid)]
                spies.append(
                    subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                )
        try:
            yield
        finally:
            for spy in spies:
                spy.send_signal(signal.SIGINT)
            for spy in spies:
                spy.wait(timeout=30)

    def pid(self, name: str) -> int:
        """The process id of a child (`temporal`, `simulator`, `api`, `worker`, `raw-worker`,
        `launcher`, or one started later)."""
        for child in self.children:
            if child.name == name and child.proc is not None:
                return child.proc.pid
        raise KeyError(name)


__all__ = [
    "API_KEY",
    "BENCH_SCENARIO",
    "KILL_TASK_QUEUE",
    "LAUNCHED_TASK_QUEUE",
    "LAUNCHER_TASK_QUEUE",
    "LONGEST_TASK_QUEUE",
    "QUIET_SCENARIO",
    "RAW_LAUNCHED_TASK_QUEUE",
    "RAW_TASK_QUEUE",
    "BenchStack",
]
