"""Observability fixtures: a scrape of `/metrics` as numbers, and logs captured as JSON lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity, workflow

from models.log_setup import PAYLOAD_LOGGERS, configure_logging

# The API's fixtures (an app on a migrated database, signed webhook posts), shared as they are.
from tests.api.conftest import api_engine, api_settings, client, poster, webhook_keys

__all__ = ["api_engine", "api_settings", "client", "poster", "webhook_keys"]


@dataclass
class Scrape:
    """One `/metrics` answer: `value(name, **labels)` reads a sample."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    families: set[str]

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample, labels in self.samples if sample == name]


def scrape(client: TestClient) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    return Scrape(
        samples={
            (s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples
        },
        families={f.name for f in families},
    )


class JsonLog:
    """Everything logged while the fixture is active, as rendered JSON lines."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_log() -> Iterator[JsonLog]:
    """The process's logging configured as in production with NURTURE_LOG_FORMAT=json, at DEBUG;
    the previous logging state is restored afterwards."""
    root = logging.getLogger()
    touched = [*PAYLOAD_LOGGERS, "uvicorn", "uvicorn.error", "uvicorn.access"]
    saved = {
        name: (lg.level, list(lg.handlers), lg.propagate)
        for name in touched
        for lg in [logging.getLogger(name)]
    }
    root_level = root.level
    info_on_message = (
        workflow.logger.workflow_info_on_message,
        activity.logger.activity_info_on_message,
    )
    log = JsonLog()
    configure_logging(log_format="json", level="DEBUG", stream=log.stream)
    try:
        yield log
    finally:
        for handler in [h for h in root.handlers if h.get_name() == "nurture"]:
            root.removeHandler(handler)
        root.setLevel(root_level)
        for name, (level, handlers, propagate) in saved.items():
            lg = logging.getLogger(name)
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate
        structlog.reset_defaults()
        workflow.logger.workflow_info_on_message = info_on_message[0]
        activity.logger.activity_info_on_message = info_on_message[1]
