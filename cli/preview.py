"""`nurture preview`: every step of a sequence rendered (subject, text, HTML) for a stored contact or
the content lint's sample contact, each with the lint's findings and the time it would be sent
if the contact were enrolled now (no events: the sequence's path without engagement, simulated
by `nurture_testing.simulate`, so the engine's own calendar places it)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule

from activities.deliverability.content_lint import Finding, Severity, lint_template
from activities.deliverability.content_lint.samples import (
    SAMPLE_CONTACT,
    SAMPLE_SENDER,
    SAMPLE_UNSUBSCRIBE_URL,
)
from activities.enrollment.rendering import Recipient, RenderedEmail, Renderer, SenderIdentity
from cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, fail, handled_errors
from cli.simulate import parse_object, parse_start
from models.errors import InvalidInput, TemplateError
from models.settings import get_settings
from nurture_testing.simulation import SimulationError
from workflows.calendar import time_zone_for

#: The triggering event's properties a triggered sequence is previewed with (a quote request).
SAMPLE_EVENT: dict[str, Any] = {
    "product": "M8 stainless hex bolts",
    "quote_number": "Q-0142",
    "quantity": "20,000 pcs",
}
#: How long the sample quote is valid (`valid_until`), from the preview's start.
SAMPLE_VALID_FOR = timedelta(days=21)


@dataclass
class StepPreview:
    """One step: its rendering (or why it failed), lint findings and send time."""

    step: str
    template: str
    email: RenderedEmail | None
    error: str | None
    findings: list[Finding]
    #: Local send time on the path without events; None when that path does not send it.
    sends_at: str | None = None
    send_detail: str = ""


@dataclass
class SequencePreview:
    sequence: str
    contact: str
    time_zone: str
    country: str | None
    language: str | None
    steps: list[StepPreview] = field(default_factory=list)
    outcome: str = ""


@dataclass(frozen=True)
class PreviewContact:
    """Whom a preview renders for: template data, calendar and a label (no address)."""

    recipient: Recipient
    sender: SenderIdentity
    time_zone: str
    country: str | None
    label: str


def step_names(sequence: str, templates_dir: Path) -> list[str]:
    """The steps a sequence has templates for: `<step>.jinja`, leaving out language (`.de`) and
    A/B (`@variant`) files."""
    folder = templates_dir / sequence
    if not folder.is_dir():
        raise InvalidInput("sequence", f"no templates folder {folder}")
    return sorted(
        p.name.removesuffix(".jinja")
        for p in folder.glob("*.jinja")
        if "." not in p.name.removesuffix(".jinja") and "@" not in p.name
    )


def sample_contact(time_zone: str | None, country: str | None) -> PreviewContact:
    """The content lint's sample contact (Anna Schmidt, DE unless `country` says otherwise)."""
    country = country or SAMPLE_CONTACT.country
    return PreviewContact(
        recipient=replace(SAMPLE_CONTACT, country=country),
        sender=SAMPLE_SENDER,
        time_zone=time_zone_for(time_zone, country, None),
        country=country,
        label="sample contact",
    )


def stored_contact(ref: str, sender_id: str = "default") -> PreviewContact:
    """A contact from the database by address or id, with its calendar as an enrollment gets it
    and the sender's identity (the sample sender's when `sender_id` is unknown)."""
    from activities.contacts.store import find_contact
    from cli import services
    from models.business_events import ContactRef
    from models.db import session_scope
    from models.tables import Sender

    try:
        contact_ref = ContactRef(id=uuid.UUID(ref))
    except ValueError:
        contact_ref = ContactRef(email=ref)
    with session_scope(services.engine()) as session:
        contact = find_contact(session, contact_ref)
        if contact is None:
            raise InvalidInput("contact", f"no {contact_ref.describe()}")
        sender = session.get(Sender, sender_id)
        identity = SAMPLE_SENDER
        if sender is not None:
            identity = SenderIdentity(
                sender.from_name or sender.from_email,
                sender.from_email,
                sender.postal_address or SAMPLE_SENDER.postal_address,
            )
        return PreviewContact(
            recipient=Recipient.of(contact),
            sender=identity,
            time_zone=time_zone_for(
                contact.time_zone, contact.country, sender.time_zone if sender else None
            ),
            country=contact.country,
            label=f"contact {contact.id}",
        )


async def preview_sequence(
    sequence: str,
    contact: PreviewContact,
    *,
    language: str | None = None,
    templates_dir: Path | None = None,
    start: datetime | None = None,
    event: dict[str, Any] | None = None,
) -> SequencePreview:
    """Render, lint and place in time every step of `sequence` for `contact`."""
    from nurture_testing import simulate
    from workflows.registry import by_name, configure, templates_dir_of

    settings = get_settings()
    configure(settings.sequences)  # NURTURE_SEQUENCES' sequences, each with its own templates
    cls = by_name(sequence)
    templates_dir = templates_dir or templates_dir_of(sequence, settings.templates_dir)
    recipient = replace(contact.recipient, language=language) if language else contact.recipient
    if cls.triggers and event is None:
        begins = start or datetime.now(UTC)
        event = {**SAMPLE_EVENT, "valid_until": (begins + SAMPLE_VALID_FOR).date().isoformat()}
    timeline = await simulate(
        cls,
        time_zone=contact.time_zone,
        country=contact.country,
        start=start,
        trigger=event if cls.triggers else None,
    )
    renderer = Renderer(templates_dir)
    names = step_names(sequence, templates_dir)
    on_path = [s for s in timeline.steps if s in names]
    ordered = on_path + [s for s in names if s not in on_path]
    result = SequencePreview(
        sequence=sequence,
        contact=contact.label,
        time_zone=contact.time_zone,
        country=contact.country,
        language=recipient.language,
        outcome=str(timeline.outcome),
    )
    for step in ordered:
        template = f"{sequence}/{step}"
        chosen = template
        if (
            recipient.language
            and (templates_dir / f"{template}.{recipient.language.lower()}.jinja").is_file()
        ):
            chosen = f"{template}.{recipient.language.lower()}"
        email, error = None, None
        try:
            email = renderer.render(
                template,
                recipient,
                contact.sender,
                unsubscribe_url=SAMPLE_UNSUBSCRIBE_URL,
                event=event,
            )
        except TemplateError as exc:
            error = str(exc)
        findings = list(lint_template(chosen, templates_dir=templates_dir).findings)
        sent = next((e for e in timeline.sent if e.step == step), None)
        result.steps.append(
            StepPreview(
                step=step,
                template=chosen,
                email=email,
                error=error,
                findings=findings,
                sends_at=sent.local if sent else None,
                send_detail=sent.detail if sent else "not sent on the path without events",
            )
        )
    return result


def write_folder(preview: SequencePreview, out: Path) -> list[Path]:
    """Each step's `<n>-<step>.txt` (subject and text) and `<n>-<step>.html` under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for number, step in enumerate(preview.steps, start=1):
        if step.email is None:
            continue
        stem = out / f"{number}-{step.step}"
        text = stem.with_suffix(".txt")
        text.write_text(f"Subject: {step.email.subject}\n\n{step.email.text}\n", encoding="utf-8")
        html = stem.with_suffix(".html")
        html.write_text(step.email.html + "\n", encoding="utf-8")
        written += [text, html]
    return written


def _print(preview: SequencePreview, *, html: bool) -> None:
    where = preview.time_zone + (f", {preview.country}" if preview.country else "")
    console.print(
        Rule(
            f"{escape(preview.sequence)} for the {escape(preview.contact)} ({escape(where)}, "
            f"language {escape(preview.language or 'default')}), enrolled now"
        )
    )
    for number, step in enumerate(preview.steps, start=1):
        when = step.sends_at or "—"
        title = f"{number}. {escape(step.step)} · {escape(step.template)} · sends {escape(when)}"
        body = []
        if step.send_detail:
            body.append(f"[dim]{escape(step.send_detail)}[/]")
        if step.email is not None:
            body.append(f"[bold]Subject:[/] {escape(step.email.subject)}")
            body.append("")
            body.append(escape(step.email.text))
            if html:
                body += ["", "[bold]HTML:[/]", escape(step.email.html)]
        else:
            body.append(f"[bold red]does not render:[/] {escape(step.error or '')}")
        if step.findings:
            body.append("")
            for f in step.findings:
                style = "bold red" if f.severity is Severity.ERROR else "yellow"
                body.append(f"[{style}]{f.severity}[/] {f.rule}: {escape(f.message)}")
        else:
            body.append("\n[green]lint: no findings[/]")
        console.print(Panel("\n".join(body), title=title, title_align="left"))
    console.print(f"without events the enrollment ends [bold]{preview.outcome}[/]")


def preview(
    sequence: Annotated[str, typer.Argument(help="The sequence, e.g. trade_intro.")],
    contact: Annotated[
        str | None,
        typer.Option(help="A stored contact's address or id (default: the lint's sample contact)."),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Render in this language's templates (e.g. de).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write each step's text and HTML into this folder.")
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="Print each step's HTML too.")] = False,
    time_zone: Annotated[
        str | None, typer.Option(help="The sample contact's IANA zone (default: its country's).")
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="The sample contact's country (default DE).")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Place sends as if enrolled at this time (ISO 8601).")
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(help="For a triggered sequence: the triggering event's properties (JSON)."),
    ] = None,
    templates_dir: Annotated[
        Path | None, typer.Option(help="Templates directory (default: NURTURE_TEMPLATES_DIR).")
    ] = None,
) -> None:
    """Render every step of a sequence with the content lint's findings and when each would be
    sent in the contact's local calendar; exits 1 when a step does not render or lints an error."""
    with handled_errors():
        who = stored_contact(contact) if contact else sample_contact(time_zone, country)
        try:
            result = asyncio.run(
                preview_sequence(
                    sequence,
                    who,
                    language=language,
                    templates_dir=templates_dir,
                    start=parse_start(start, who.time_zone, who.country),
                    event=parse_object(event, "--event"),
                )
            )
        except KeyError as exc:  # no such sequence: the message names the known ones
            fail(str(exc).strip("'\""), EXIT_BAD_INPUT)
        except (SimulationError, ValueError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    _print(result, html=html and out is None)
    if out is not None:
        for path in write_folder(result, out):
            console.print(f"wrote {escape(str(path))}")
    failed = any(
        s.email is None or any(f.severity is Severity.ERROR for f in s.findings)
        for s in result.steps
    )
    raise typer.Exit(EXIT_FAILED if failed else 0)


__all__ = [
    "SAMPLE_EVENT",
    "PreviewContact",
    "SequencePreview",
    "StepPreview",
    "preview",
    "preview_sequence",
    "sample_contact",
    "step_names",
    "stored_contact",
]
