"""`nurture senders …`: add, change, list, show, pause and resume sending identities (the same
service as `/api/senders`)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from activities.deliverability.senders import SenderStatus
from cli import services
from cli.output import console, err, handled_errors
from cli.senders_check import check as senders_check
from models.tables import SenderCreate, SenderUpdate

app = typer.Typer(
    help="Sending identities: warm-up, caps, health, pause/resume, DNS checks.",
    no_args_is_help=True,
)
app.command("check")(senders_check)


def _given(**options: Any) -> dict[str, Any]:
    """The options the user gave (None: not given, the stored value stays)."""
    return {k: v for k, v in options.items() if v is not None}


def show_status(s: SenderStatus) -> None:
    table = Table(title=f"sender {s.id}", show_header=False)
    table.add_row("from", f"{s.from_name} <{s.from_email}>")
    table.add_row("postal address", s.postal_address)
    table.add_row("time zone", s.time_zone)
    table.add_row(
        "warm-up",
        f"day {s.warmup['day']}: {s.warmup['start']} × {s.warmup['growth']}/day up to {s.warmup['ceiling']}",
    )
    table.add_row(
        "today", f"{s.quota_today['used']} of {s.quota_today['cap']} used ({s.quota_today['day']})"
    )
    table.add_row("caps", f"{s.daily_cap}/day, {s.domain_hourly_cap} per recipient domain per hour")
    h = s.health
    table.add_row(
        "health",
        f"{h['sent']} sent in {h['window_days']:g} days; complaints {h['complaints']} ({h['complaint_rate']:.2%}); "
        f"hard bounces {h['hard_bounces']} ({h['hard_bounce_rate']:.2%}); blocks last hour {h['recent_blocks']}",
    )
    table.add_row(
        "status",
        f"[bold red]PAUSED[/] since {s.paused_at:%Y-%m-%d %H:%M} UTC: {s.paused_reason}"
        if s.paused and s.paused_at
        else "[green]sending[/]",
    )
    console.print(table)


@app.command("add")
def add(
    sender_id: str,
    from_email: Annotated[str, typer.Option(help="The From address.")],
    from_name: Annotated[str, typer.Option(help="The From name.")],
    postal_address: Annotated[str, typer.Option(help="Printed in every email.")],
    time_zone: Annotated[
        str, typer.Option(help="IANA zone: quota days and fallback send windows.")
    ] = "UTC",
    reply_domain: Annotated[
        str | None, typer.Option(help="Inbound Parse domain for replies.")
    ] = None,
    daily_cap: Annotated[int, typer.Option(help="Hard daily cap.")] = 200,
    warmup_start: Annotated[int, typer.Option(help="Sends on the ramp's first day.")] = 20,
    warmup_growth: Annotated[float, typer.Option(help="Daily growth factor.")] = 1.3,
    warmup_ceiling: Annotated[int, typer.Option(help="Where the ramp stops.")] = 200,
    domain_hourly_cap: Annotated[int, typer.Option(help="Per recipient domain per hour.")] = 10,
) -> None:
    """Add a sending identity with its warm-up ramp and caps."""
    with handled_errors():
        data = SenderCreate.model_validate(
            _given(
                id=sender_id,
                from_email=from_email,
                from_name=from_name,
                postal_address=postal_address,
                time_zone=time_zone,
                reply_domain=reply_domain,
                daily_cap=daily_cap,
                warmup_start=warmup_start,
                warmup_growth=warmup_growth,
                warmup_ceiling=warmup_ceiling,
                domain_hourly_cap=domain_hourly_cap,
            )
        )
        show_status(services.senders().create(data))


@app.command("set")
def set_(
    sender_id: str,
    from_name: Annotated[str | None, typer.Option()] = None,
    postal_address: Annotated[str | None, typer.Option()] = None,
    reply_domain: Annotated[str | None, typer.Option()] = None,
    daily_cap: Annotated[int | None, typer.Option()] = None,
    warmup_start: Annotated[int | None, typer.Option()] = None,
    warmup_growth: Annotated[float | None, typer.Option()] = None,
    warmup_ceiling: Annotated[int | None, typer.Option()] = None,
    domain_hourly_cap: Annotated[int | None, typer.Option()] = None,
    time_zone: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change a sender's identity, caps, ramp or time zone (as `PATCH /api/senders/ID`)."""
    with handled_errors():
        change = SenderUpdate.model_validate(
            _given(
                from_name=from_name,
                postal_address=postal_address,
                reply_domain=reply_domain,
                daily_cap=daily_cap,
                warmup_start=warmup_start,
                warmup_growth=warmup_growth,
                warmup_ceiling=warmup_ceiling,
                domain_hourly_cap=domain_hourly_cap,
                time_zone=time_zone,
            )
        )
        show_status(services.senders().update(sender_id, change))


@app.command("list")
def list_(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every sender with today's quota, health and pause state."""
    senders = services.senders().list()
    if json_output:
        console.print_json(json.dumps([s.model_dump(mode="json") for s in senders]))
        return
    table = Table("sender", "from", "today", "warm-up day", "complaints", "hard bounces", "status")
    for s in senders:
        table.add_row(
            s.id,
            s.from_email,
            f"{s.quota_today['used']}/{s.quota_today['cap']}",
            str(s.warmup["day"]),
            f"{s.health['complaint_rate']:.2%}",
            f"{s.health['hard_bounce_rate']:.2%}",
            f"[red]paused: {s.paused_reason}[/]" if s.paused else "[green]sending[/]",
        )
    console.print(table)


@app.command("show")
def show(sender_id: str) -> None:
    """One sender in detail."""
    with handled_errors():
        show_status(services.senders().status(sender_id))


@app.command("pause")
def pause(
    sender_id: str, reason: Annotated[str, typer.Option(help="Why (kept on the sender).")]
) -> None:
    """Stop all sends from a sender; its enrollments wait."""
    with handled_errors():
        show_status(services.senders().pause(sender_id, reason))


@app.command("resume")
def resume(sender_id: str) -> None:
    """Let a paused sender send again; the steps it held go out at once."""
    with handled_errors():
        resumed = asyncio.run(services.senders().resume(sender_id, services.temporal_or_none))
    show_status(resumed.sender)
    if resumed.woken is None:
        err.print("held steps go out at their own recheck, within 30 minutes")
    else:
        console.print(f"{resumed.woken} held enrollment(s) told to send now")
