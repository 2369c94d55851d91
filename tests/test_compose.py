"""docker-compose.yml cannot run here (no Docker engine): check its shape by parsing it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from models.settings import Settings

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"

#: The services that run nurture's own image with its settings.
NURTURE_SERVICES = ("worker", "api", "migrate")

#: Names that hold a secret, in any service.
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PWD|API_KEY")

#: A value taken from the environment: `${NAME:?message}` (required) or `${NAME:-}` (optional,
#: empty by default). Never a default that would be a secret itself.
FROM_ENV = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::\?[^}]*|:-)\}")
REQUIRED = re.compile(r"\$\{[A-Z0-9_]+:\?[^}]+\}")


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def environments() -> dict[str, dict[str, str]]:
    return {
        name: {k: str(v) for k, v in (service.get("environment") or {}).items()}
        for name, service in load()["services"].items()
    }


def test_compose_runs_postgres_temporal_ui_worker_and_api():
    services = load()["services"]
    assert {"postgresql", "temporal", "temporal-ui", "worker", "api"} <= set(services)
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"


def test_worker_and_api_use_only_known_nurture_settings():
    services = load()["services"]
    known = {f"NURTURE_{name.upper()}" for name in Settings.model_fields}
    for name in NURTURE_SERVICES:
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


def test_no_secret_is_written_in_the_file():
    for service, env in environments().items():
        for name, value in env.items():
            if SECRET_NAME.search(name):
                assert FROM_ENV.fullmatch(value), f"{service}: {name} is not taken from the env"
    database_url = environments()["api"]["NURTURE_DATABASE_URL"]
    password = database_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert FROM_ENV.fullmatch(password), "the database URL holds a literal password"
    text = COMPOSE.read_text()
    for field in ("secret_key", "api_token", "sendgrid_api_key"):
        default = Settings.model_fields[field].default
        assert default not in text, f"the built-in {field} appears in docker-compose.yml"


def test_nurture_runs_in_production_and_refuses_to_start_without_its_secrets():
    for service in NURTURE_SERVICES:
        env = environments()[service]
        assert env["NURTURE_ENV"] == "production"
        for required in (
            "NURTURE_SECRET_KEY",
            "NURTURE_API_TOKENS",
            "NURTURE_SENDGRID_API_KEY",
            "NURTURE_PUBLIC_URL",
        ):
            assert REQUIRED.fullmatch(env[required]), f"{service}: {required} is not required"
        # Set, a built-in API token would be accepted beside the configured ones.
        assert "NURTURE_API_TOKEN" not in env


def test_two_workers_share_the_task_queue():
    worker = load()["services"]["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert "ports" not in worker  # replicas cannot share a host port


def test_only_the_reverse_proxy_reaches_the_api_and_temporal_is_not_published():
    services = load()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every address"
    # uvicorn trusts X-Forwarded-For only from the proxy named here: the per-client limits need it.
    assert REQUIRED.fullmatch(environments()["api"]["FORWARDED_ALLOW_IPS"])
