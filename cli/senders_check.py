"""`nurture senders check DOMAIN`: a sending domain's SPF, DKIM, DMARC, MX and blocklist status,
as a table with the DNS records to publish (or JSON). Exit 1 when a check fails, 2 on bad input."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from activities.deliverability.dns import (
    CheckStatus,
    DnsPythonResolver,
    DomainChecker,
    DomainReport,
    Resolver,
)
from cli.output import EXIT_FAILED, console, handled_errors

_MARKS = {
    CheckStatus.PASS: Text("✓", style="bold green"),
    CheckStatus.WARN: Text("!", style="bold yellow"),
    CheckStatus.FAIL: Text("✗", style="bold red"),
    CheckStatus.ERROR: Text("?", style="bold magenta"),
}


def make_resolver() -> Resolver:
    """The resolver the command looks names up with (tests replace this factory)."""
    return DnsPythonResolver()


def check(
    domain: Annotated[str, typer.Argument(help="The sending domain, e.g. example.com.")],
    dkim_selector: Annotated[
        list[str] | None,
        typer.Option(
            "--dkim-selector",
            help="A DKIM selector to check; repeat for several. Default: SendGrid's s1 and s2.",
        ),
    ] = None,
    inbound_domain: Annotated[
        str | None,
        typer.Option(help="The reply domain, whose MX must be SendGrid Inbound Parse."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of a table.")
    ] = False,
    from_domain: Annotated[
        str | None,
        typer.Option(help="The From header's domain when it is not DOMAIN (DMARC alignment)."),
    ] = None,
) -> None:
    """Check a sending domain's DNS (SPF, DKIM, DMARC, MX, blocklists) and say what to fix."""
    checker = DomainChecker(make_resolver())
    with handled_errors():  # InvalidInput: exit 2, nothing looked up
        report = checker.check_domain(
            domain,
            dkim_selectors=dkim_selector or (),
            from_domain=from_domain,
            inbound_domain=inbound_domain,
        )
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_report(report, console)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def print_report(report: DomainReport, console: Console) -> None:
    """The report as a table: mark, check, result (with the why when not passed), fix."""
    table = Table(title=f"Sending domain {report.domain}", show_lines=True)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result")
    table.add_column("fix")
    for result in report.results:
        outcome = Text(result.summary)
        if result.status is not CheckStatus.PASS and result.detail:
            outcome.append("\n" + result.detail, style="dim")
        table.add_row(_MARKS[result.status], result.name, outcome, Text(result.fix))
    console.print(table)
    counts = {status: len(report.with_status(status)) for status in CheckStatus}
    verdict = Text("ok" if report.ok else "FAILED", style="bold green" if report.ok else "bold red")
    console.print(
        Text.assemble(
            f"{report.domain}: ",
            verdict,
            f" — {counts[CheckStatus.PASS]} passed, {counts[CheckStatus.WARN]} warnings, "
            f"{counts[CheckStatus.FAIL]} failed, {counts[CheckStatus.ERROR]} could not be checked",
        )
    )


__all__ = ["check", "make_resolver", "print_report"]
