"""`nurture senders check`: the table with fixes, JSON, exit codes (0 ok, 1 a check failed,
2 bad input), with the command's resolver replaced by a static zone."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import typer
from typer.testing import CliRunner, Result

from activities.deliverability.dns import DnsPythonResolver, StaticResolver
from cli import senders_check

Zone = dict[tuple[str, str], list[str]]

HEALTHY: Zone = {
    ("example.com", "TXT"): ["v=spf1 include:sendgrid.net -all"],
    ("sendgrid.net", "TXT"): ["v=spf1 ip4:167.89.0.0/17 ~all"],
    ("s1._domainkey.example.com", "CNAME"): ["s1.domainkey.u1234567.wl123.sendgrid.net"],
    ("s2._domainkey.example.com", "CNAME"): ["s2.domainkey.u1234567.wl123.sendgrid.net"],
    ("_dmarc.example.com", "TXT"): ["v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"],
    ("example.com", "MX"): ["10 mx.example.net"],
    ("mx.example.net", "A"): ["64.233.184.26"],
    ("reply.example.com", "MX"): ["10 mx.sendgrid.net"],
}


def broken_zone() -> Zone:
    """No SPF, and the domain is on Spamhaus' DBL."""
    zone = dict(HEALTHY)
    del zone["example.com", "TXT"]
    zone["example.com.dbl.spamhaus.org", "A"] = ["127.0.1.2"]
    return zone


@pytest.fixture
def use_zone(monkeypatch: pytest.MonkeyPatch) -> Callable[[Zone], StaticResolver]:
    """Make the command resolve names from a zone; return the resolver to inspect its queries."""

    def install(zone: Zone) -> StaticResolver:
        resolver = StaticResolver(zone)
        monkeypatch.setattr(senders_check, "make_resolver", lambda: resolver)
        return resolver

    return install


def run(*args: str) -> Result:
    app = typer.Typer()
    app.command()(senders_check.check)
    # Wide enough that Rich never wraps a record value across lines.
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})


def test_healthy_domain_prints_passes_and_exits_0(use_zone: Callable[[Zone], object]) -> None:
    use_zone(HEALTHY)

    result = run("example.com", "--inbound-domain", "reply.example.com")

    assert result.exit_code == 0, result.output
    assert "✓" in result.stdout
    assert "✗" not in result.stdout
    assert "MX (inbound)" in result.stdout
    assert "example.com: ok" in result.stdout


def test_failing_domain_prints_the_fixes_and_exits_1(use_zone: Callable[[Zone], object]) -> None:
    use_zone(broken_zone())

    result = run("example.com")

    assert result.exit_code == 1
    assert "✗" in result.stdout
    assert "no SPF record at example.com" in result.stdout
    assert 'Publish one TXT record at example.com: "v=spf1 include:sendgrid.net ~all"' in (
        result.stdout
    )
    assert "request delisting of example.com at https://check.spamhaus.org/" in result.stdout
    assert "FAILED" in result.stdout


def test_warning_shows_the_why_and_does_not_fail_the_run(
    use_zone: Callable[[Zone], object],
) -> None:
    zone = dict(HEALTHY)
    zone["_dmarc.example.com", "TXT"] = ["v=DMARC1; p=none; rua=mailto:dmarc@example.com"]
    use_zone(zone)

    result = run("example.com")

    assert result.exit_code == 0
    assert "!" in result.stdout
    assert "monitoring only" in result.stdout
    assert "Gmail and Yahoo require a DMARC record" in result.stdout


def test_json_output_carries_every_result_and_the_exit_code(
    use_zone: Callable[[Zone], object],
) -> None:
    use_zone(broken_zone())

    result = run("example.com", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    statuses = {r["name"]: r["status"] for r in report["results"]}
    assert statuses["SPF"] == "fail"
    assert statuses["DNSBL dbl.spamhaus.org"] == "fail"
    assert statuses["DKIM s1"] == "pass"
    spf = next(r for r in report["results"] if r["name"] == "SPF")
    assert "v=spf1 include:sendgrid.net ~all" in spf["fix"]


def test_dkim_selector_option_repeats_and_replaces_the_defaults(
    use_zone: Callable[[Zone], StaticResolver],
) -> None:
    resolver = use_zone(HEALTHY)

    result = run("example.com", "--dkim-selector", "s1", "--dkim-selector", "em2024", "--json")

    dkim = [r["name"] for r in json.loads(result.stdout)["results"] if r["kind"] == "dkim"]
    assert dkim == ["DKIM s1", "DKIM em2024"]
    assert ("s2._domainkey.example.com", "CNAME") not in resolver.queries
    assert result.exit_code == 1  # em2024 has no key


def test_from_domain_option_checks_its_dmarc_alignment(
    use_zone: Callable[[Zone], object],
) -> None:
    zone = dict(HEALTHY)
    zone["_dmarc.brand.example", "TXT"] = ["v=DMARC1; p=reject; rua=mailto:d@brand.example"]
    use_zone(zone)

    result = run("example.com", "--from-domain", "brand.example", "--json")

    dmarc = next(r for r in json.loads(result.stdout)["results"] if r["name"] == "DMARC")
    assert dmarc["status"] == "fail"
    assert "does not align" in dmarc["summary"]
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not a domain"], "domain:"),
        (["ops@example.com"], "email address"),
        (["example.com", "--inbound-domain", "http://x"], "inbound_domain:"),
        (["example.com", "--dkim-selector", "bad selector"], "dkim_selector:"),
    ],
)
def test_bad_input_exits_2_with_the_reason_and_looks_nothing_up(
    use_zone: Callable[[Zone], StaticResolver], args: list[str], message: str
) -> None:
    resolver = use_zone(HEALTHY)

    result = run(*args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert resolver.queries == []


def test_dns_failure_is_reported_as_could_not_check(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = StaticResolver(HEALTHY, unavailable=["example.com"])
    monkeypatch.setattr(senders_check, "make_resolver", lambda: resolver)

    result = run("example.com")

    assert result.exit_code == 0  # nothing is known to fail: errors alone do not fail the run
    assert "DNS lookup failed: TXT example.com: timed out" in result.stdout
    assert "could not be checked" in result.stdout


def test_command_resolves_through_dnspython_by_default() -> None:
    assert isinstance(senders_check.make_resolver(), DnsPythonResolver)
