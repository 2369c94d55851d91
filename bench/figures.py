"""What every benchmark reports besides its own figures: percentiles, process memory, and the
machine (with its load, since the development machine is shared)."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile (0..1) of `values` by nearest rank; 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_ms(seconds: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max of durations given in seconds, in milliseconds."""
    return {
        "p50": round(percentile(seconds, 0.50) * 1000, 1),
        "p95": round(percentile(seconds, 0.95) * 1000, 1),
        "p99": round(percentile(seconds, 0.99) * 1000, 1),
        "max": round(max(seconds, default=0.0) * 1000, 1),
        "count": len(seconds),
    }


def rate(count: float, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def process_memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process now (`rss`) and its peak (`hwm`), from /proc, in MB."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures["rss" if key == "VmRSS" else "hwm"] = round(int(value.split()[0]) / 1024, 1)
    return figures


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_total_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


def _temporal_version() -> str | None:
    from cli.processes import ProcessFailed, installed_binary

    try:
        out = subprocess.run(
            [installed_binary("temporal"), "--version"], capture_output=True, text=True, timeout=10
        )
    except (ProcessFailed, OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine(db: str = "sqlite") -> dict[str, Any]:
    """The machine the figures come from (the caller adds the load average before and after)."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_mb": _memory_total_mb(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "temporal": _temporal_version(),
        "db": f"{db} {sqlite3.sqlite_version} (WAL)" if db == "sqlite" else db,
    }


__all__ = [
    "latency_ms",
    "load_average",
    "machine",
    "percentile",
    "process_cpu_seconds",
    "process_memory_mb",
    "rate",
]
