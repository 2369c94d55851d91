"""Whether a configuration is fit for production: the one rule that `nurture api` and
`nurture worker` apply before connecting to anything (under NURTURE_ENV=production) and that
`nurture check-config` prints. Pure: reads the settings, touches nothing else."""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

from models.settings import DEV_API_TOKEN, DEV_SECRET_KEY, SIMULATOR_API_KEY, Settings

#: The shortest secret key or API token production accepts (characters).
MIN_SECRET_LENGTH = 32
#: What a refused process exits with (as a usage error: the configuration is wrong).
EXIT_UNFIT = 2
#: Values shipped in code or in the documentation: anyone may know them.
BUILT_IN_SECRETS = frozenset({DEV_SECRET_KEY, DEV_API_TOKEN})


@dataclass(frozen=True)
class ConfigProblem:
    """One variable that makes the configuration unfit for production, and why."""

    variable: str
    reason: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.reason}"


def _secret_problem(value: str) -> str | None:
    if value in BUILT_IN_SECRETS:
        return "is a built-in default, known to anyone who reads the code"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    return None


def _is_local(host: str | None) -> bool:
    if not host:
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def problems(settings: Settings) -> list[ConfigProblem]:
    """Every reason `settings` is unfit for production, one per offending variable (empty: fit).
    Values never appear in a reason: they are secrets."""
    found: list[ConfigProblem] = []
    if settings.env != "production":
        found.append(
            ConfigProblem("NURTURE_ENV", f"is {settings.env}: api and worker skip these checks")
        )
    if (reason := _secret_problem(settings.secret_key)) is not None:
        found.append(ConfigProblem("NURTURE_SECRET_KEY", reason))
    if any(key in BUILT_IN_SECRETS for key in settings.previous_secret_keys):
        found.append(
            ConfigProblem(
                "NURTURE_PREVIOUS_SECRET_KEYS",
                "holds a built-in default: anyone could sign links that verify",
            )
        )
    weak_tokens = [t for t in settings.api_tokens if _secret_problem(t) is not None]
    if weak_tokens:
        reasons = sorted({str(_secret_problem(t)) for t in weak_tokens})
        found.append(
            ConfigProblem(
                "NURTURE_API_TOKENS",
                f"{len(weak_tokens)} of {len(settings.api_tokens)} tokens " + "; ".join(reasons),
            )
        )
    alias = settings.api_token  # NURTURE_API_TOKEN: one more accepted token, when accepted
    alias_counts = alias in settings.accepted_api_tokens and alias not in settings.api_tokens
    if alias_counts and (reason := _secret_problem(alias)) is not None:
        found.append(ConfigProblem("NURTURE_API_TOKEN", reason))
    if settings.sendgrid_api_key == SIMULATOR_API_KEY:
        found.append(ConfigProblem("NURTURE_SENDGRID_API_KEY", "is the ESP simulator's key"))
    elif not settings.sendgrid_api_key:
        found.append(ConfigProblem("NURTURE_SENDGRID_API_KEY", "is empty"))
    host = urlsplit(settings.sendgrid_host)
    if host.scheme != "https" or _is_local(host.hostname):
        found.append(
            ConfigProblem(
                "NURTURE_SENDGRID_HOST",
                f"{settings.sendgrid_host!r} points at the ESP simulator, not SendGrid "
                "(https://api.sendgrid.com)",
            )
        )
    if urlsplit(settings.public_url).scheme != "https":
        found.append(
            ConfigProblem(
                "NURTURE_PUBLIC_URL",
                f"{settings.public_url!r} is not https: unsubscribe links and the dashboard "
                "need TLS",
            )
        )
    return found


def report(found: list[ConfigProblem], out: TextIO) -> None:
    """The verdict: one line per offending variable, or one line saying it is fit."""
    if not found:
        out.write("configuration is fit for production\n")
        return
    for problem in found:
        out.write(f"{problem}\n")


def exit_unless_fit(settings: Settings, process: str) -> None:
    """Under NURTURE_ENV=production, exit `EXIT_UNFIT` naming each offending variable, before
    `process` (api, worker) connects to anything; under `dev`, return."""
    if settings.env != "production":
        return
    found = problems(settings)
    if not found:
        return
    sys.stderr.write(
        f"nurture {process}: refusing to start with NURTURE_ENV=production "
        f"(NURTURE_ENV=dev for a local stack):\n"
    )
    report(found, sys.stderr)
    sys.stderr.flush()
    raise SystemExit(EXIT_UNFIT)


__all__ = [
    "BUILT_IN_SECRETS",
    "EXIT_UNFIT",
    "MIN_SECRET_LENGTH",
    "ConfigProblem",
    "exit_unless_fit",
    "problems",
    "report",
]
