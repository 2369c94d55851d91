"""The production verdict (`models.config_check`): the built-in configuration is refused variable by
variable, each weak value is named, a good production configuration passes, and no secret value
ever appears in the verdict. Also the settings it reads: comma-separated key and token lists and
which API tokens are accepted."""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import pytest

from models.config_check import MIN_SECRET_LENGTH, problems, report
from models.settings import DEV_API_TOKEN, DEV_SECRET_KEY, SIMULATOR_API_KEY, Settings

STRONG_KEY = "k" * MIN_SECRET_LENGTH
STRONG_TOKEN = "t" * MIN_SECRET_LENGTH

#: Variables whose values must never appear in a verdict.
SECRETS = {
    "NURTURE_SECRET_KEY",
    "NURTURE_PREVIOUS_SECRET_KEYS",
    "NURTURE_API_TOKEN",
    "NURTURE_API_TOKENS",
    "NURTURE_SENDGRID_API_KEY",
}

#: A configuration fit for production.
GOOD = {
    "NURTURE_ENV": "production",
    "NURTURE_SECRET_KEY": STRONG_KEY,
    "NURTURE_API_TOKEN": STRONG_TOKEN,
    "NURTURE_SENDGRID_API_KEY": "SG.a-real-looking-key",
    "NURTURE_SENDGRID_HOST": "https://api.sendgrid.com",
    "NURTURE_PUBLIC_URL": "https://nurture.example.com",
}


Reader = Callable[..., Settings]


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Reader:
    """Settings read from a clean environment (no NURTURE_ variable, no .env) plus the given
    variables: `read(NURTURE_SECRET_KEY="...")`."""
    for name in list(os.environ):
        if name.startswith("NURTURE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def settings(**variables: str) -> Settings:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return Settings()

    return settings


def offenders(settings: Settings) -> list[str]:
    return [p.variable for p in problems(settings)]


def test_the_built_in_configuration_is_refused_naming_every_variable(read: Reader) -> None:
    settings = read()  # nothing set: NURTURE_ENV defaults to production
    assert settings.env == "production"
    assert offenders(settings) == [
        "NURTURE_SECRET_KEY",
        "NURTURE_API_TOKEN",
        "NURTURE_SENDGRID_API_KEY",
        "NURTURE_SENDGRID_HOST",
        "NURTURE_PUBLIC_URL",
    ]


def test_a_good_production_configuration_is_fit(read: Reader) -> None:
    settings = read(**GOOD)
    assert problems(settings) == []
    out = io.StringIO()
    report(problems(settings), out)
    assert out.getvalue() == "configuration is fit for production\n"


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("NURTURE_SECRET_KEY", DEV_SECRET_KEY, "built-in default"),
        ("NURTURE_SECRET_KEY", "s" * (MIN_SECRET_LENGTH - 1), "shorter than 32"),
        ("NURTURE_API_TOKEN", DEV_API_TOKEN, "built-in default"),
        ("NURTURE_API_TOKEN", "q7z-token", "shorter than 32"),
        ("NURTURE_API_TOKENS", f"{STRONG_TOKEN}x,q7z", "1 of 2 tokens is shorter than 32"),
        ("NURTURE_API_TOKENS", DEV_API_TOKEN, "built-in default"),
        ("NURTURE_PREVIOUS_SECRET_KEYS", f"{STRONG_KEY}x,{DEV_SECRET_KEY}", "built-in default"),
        ("NURTURE_SENDGRID_API_KEY", SIMULATOR_API_KEY, "simulator's key"),
        ("NURTURE_SENDGRID_API_KEY", "", "is empty"),
        ("NURTURE_SENDGRID_HOST", "http://localhost:8025", "ESP simulator"),
        ("NURTURE_SENDGRID_HOST", "https://127.0.0.1:8025", "ESP simulator"),
        ("NURTURE_SENDGRID_HOST", "http://api.sendgrid.com", "ESP simulator"),
        ("NURTURE_PUBLIC_URL", "http://nurture.example.com", "not https"),
        ("NURTURE_ENV", "dev", "api and worker skip these checks"),
    ],
)
def test_each_offending_variable_is_named_alone_with_its_reason(
    read: Reader, variable: str, value: str, reason: str
) -> None:
    settings = read(**{**GOOD, variable: value})
    found = problems(settings)
    assert [p.variable for p in found] == [variable]
    assert reason in found[0].reason
    if variable in SECRETS:
        for secret in filter(None, value.split(",")):
            assert secret not in str(found[0])  # secrets are never printed


def test_the_report_has_one_line_per_offending_variable(read: Reader) -> None:
    out = io.StringIO()
    report(problems(read(**{**GOOD, "NURTURE_SECRET_KEY": "x", "NURTURE_ENV": "dev"})), out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["NURTURE_ENV", "NURTURE_SECRET_KEY"]


def test_api_tokens_alone_leave_the_built_in_api_token_out(read: Reader) -> None:
    good = {k: v for k, v in GOOD.items() if k != "NURTURE_API_TOKEN"}
    settings = read(**good, NURTURE_API_TOKENS=f"{STRONG_TOKEN}1, {STRONG_TOKEN}2")
    assert settings.api_tokens == [f"{STRONG_TOKEN}1", f"{STRONG_TOKEN}2"]
    assert settings.accepted_api_tokens == (f"{STRONG_TOKEN}1", f"{STRONG_TOKEN}2")
    assert DEV_API_TOKEN not in settings.accepted_api_tokens
    assert problems(settings) == []


def test_an_explicit_api_token_is_one_more_accepted_token(read: Reader) -> None:
    settings = read(**{**GOOD, "NURTURE_API_TOKENS": f"{STRONG_TOKEN}1"})
    assert settings.accepted_api_tokens == (f"{STRONG_TOKEN}1", STRONG_TOKEN)


def test_without_any_token_setting_the_built_in_one_is_accepted_as_before(read: Reader) -> None:
    assert read().accepted_api_tokens == (DEV_API_TOKEN,)
    assert read(NURTURE_API_TOKEN="").accepted_api_tokens == ()  # closed


def test_previous_secret_keys_verify_after_the_current_one(read: Reader) -> None:
    settings = read(NURTURE_SECRET_KEY="new", NURTURE_PREVIOUS_SECRET_KEYS=" old1 ,old2,,")
    assert settings.previous_secret_keys == ["old1", "old2"]
    assert settings.verification_keys == ("new", "old1", "old2")


def test_env_is_read_in_any_case_and_refuses_other_values(read: Reader) -> None:
    assert read(NURTURE_ENV="DEV").env == "dev"
    with pytest.raises(ValueError, match="env"):
        read(NURTURE_ENV="staging")
