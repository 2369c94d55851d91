"""docker-compose.yml cannot run here (no Docker engine): check its shape by parsing it."""

from __future__ import annotations

from pathlib import Path

import yaml

from models.settings import Settings

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_postgres_temporal_ui_worker_and_api():
    services = load()["services"]
    assert {"postgresql", "temporal", "temporal-ui", "worker", "api"} <= set(services)
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"


def test_worker_and_api_use_only_known_nurture_settings():
    services = load()["services"]
    known = {f"NURTURE_{name.upper()}" for name in Settings.model_fields}
    for name in ("worker", "api", "migrate"):
        env = services[name]["environment"]
        nurture_names = {k for k in env if k.startswith("NURTURE_")}
        assert nurture_names <= known, nurture_names - known
        for required in ("NURTURE_DATABASE_URL", "NURTURE_TEMPORAL_ADDRESS", "NURTURE_SECRET_KEY"):
            assert required in env
        assert env["NURTURE_DATABASE_URL"].startswith("postgresql://")
        assert env["NURTURE_TEMPORAL_ADDRESS"] == "temporal:7233"


def test_worker_starts_after_migrations_and_search_attributes():
    services = load()["services"]
    depends = services["worker"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["temporal-setup"]["condition"] == "service_completed_successfully"
    setup = " ".join(services["temporal-setup"]["command"])
    for attribute in ("NurtureSequence", "NurtureCohort", "NurtureStep", "NurtureStatus"):
        assert attribute in setup


def test_worker_serves_sdk_metrics_and_everything_logs_json():
    services = load()["services"]
    worker = services["worker"]
    assert worker["environment"]["NURTURE_WORKER_METRICS_HOST"] == "0.0.0.0"
    assert worker["environment"]["NURTURE_WORKER_METRICS_PORT"] in [
        str(p) for p in worker["expose"]
    ]
    for name in ("worker", "api"):
        assert services[name]["environment"]["NURTURE_LOG_FORMAT"] == "json"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
