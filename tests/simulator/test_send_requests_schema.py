"""Every mail/send request nurture builds — each template of each sequence, each language and
A/B variant, the bump in the intro's thread, the double opt-in request — is valid against
SendGrid's published schema, checked with jsonschema directly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from jsonschema import Draft7Validator

from activities.contacts.double_opt_in import TEMPLATE as OPT_IN_TEMPLATE
from activities.contacts.double_opt_in import OptInLinks, OptInService
from activities.enrollment.quota import QuotaService
from activities.enrollment.rendering import Renderer
from activities.enrollment.sending import Links, SendingService
from models.db import get_engine
from models.enrollment import SendStepInput, enrollment_workflow_id
from simulator.mail_schema import mail_send_schema, published_schema
from simulator.validation import FORMAT_CHECKER, validate_mail_send
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    TEMPLATES,
    make_contact,
    make_sender,
    step_input,
)
from workflows.registry import names as sequence_names

#: Steps a sequence sends in an earlier step's thread (`send(..., in_reply_to=...)`).
THREADED_STEPS = {("trade_intro", "bump"): "intro"}

#: SendGrid's schema as published, and as the simulator checks it (published + corrections).
#: nurture sets custom_args per personalization only, where the published schema is right.
VALIDATORS = {
    "published": Draft7Validator(published_schema(), format_checker=FORMAT_CHECKER),
    "corrected": Draft7Validator(mail_send_schema(), format_checker=FORMAT_CHECKER),
}


@dataclass(frozen=True)
class StepTemplate:
    """One template file of a sequence: `<step>[@<variant>][.<language>].jinja`."""

    file: str  # under templates/
    sequence: str
    step: str
    variant: str | None
    language: str | None

    @classmethod
    def of(cls, path: Path) -> StepTemplate:
        stem, _, language = path.name.removesuffix(".jinja").partition(".")
        step, _, variant = stem.partition("@")
        file = path.relative_to(TEMPLATES).as_posix()
        return cls(file, path.parent.name, step, variant or None, language or None)


def _step_templates() -> list[StepTemplate]:
    return [
        StepTemplate.of(path)
        for sequence in sequence_names()
        for path in sorted((TEMPLATES / sequence).glob("*.jinja"))
    ]


STEP_TEMPLATES = _step_templates()


class RecordingTransport:
    """Stands in for `SendGridTransport`: keeps each request body as it goes on the wire."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    def send(self, payload: dict[str, Any]) -> str:
        self.bodies.append(json.loads(json.dumps(payload)))
        return f"recorded-{len(self.bodies)}"


@pytest.fixture
def engine(sqlite_database_url: str) -> sa.Engine:
    # One backend is enough: the request body does not depend on the database.
    engine = get_engine(sqlite_database_url)
    make_sender(engine)
    return engine


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def sending(engine: sa.Engine, transport: RecordingTransport) -> SendingService:
    return SendingService(
        engine,
        transport,  # type: ignore[arg-type]
        Renderer(TEMPLATES),
        Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET),
        QuotaService(contact_weekly_cap=100),
    )


def assert_valid_request(body: Any) -> None:
    for name, validator in VALIDATORS.items():
        problems = [
            f"{'.'.join(map(str, error.absolute_path)) or '(request)'}: {error.message}"
            for error in validator.iter_errors(body)
        ]
        assert problems == [], f"invalid against the {name} schema"
    # And the documented rules beyond any schema (reserved headers, totals, ...).
    assert validate_mail_send(body) == []


def test_every_template_under_templates_is_covered() -> None:
    covered = {t.file for t in STEP_TEMPLATES} | {OPT_IN_TEMPLATE}

    assert {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.jinja")} == covered
    for (sequence, step), thread_step in THREADED_STEPS.items():
        steps = {t.step for t in STEP_TEMPLATES if t.sequence == sequence}
        assert {step, thread_step} <= steps


@pytest.mark.parametrize("template", STEP_TEMPLATES, ids=lambda t: t.file)
@pytest.mark.parametrize(
    "names",
    [
        pytest.param({"first_name": "Jürgen", "last_name": "Groß"}, id="named"),
        pytest.param({"first_name": None, "last_name": None}, id="nameless"),
    ],
)
def test_send_step_request_is_valid_against_sendgrid_schema(
    engine: sa.Engine,
    sending: SendingService,
    transport: RecordingTransport,
    template: StepTemplate,
    names: dict[str, str | None],
) -> None:
    contact = make_contact(engine, language=template.language, **names)
    step = _step(contact, template)
    thread_step = THREADED_STEPS.get((template.sequence, template.step))
    if thread_step is not None:
        earlier = step_input(
            contact,
            thread_step,
            sequence=template.sequence,
            workflow_id=enrollment_workflow_id(template.sequence, contact.id),
            template=f"{template.sequence}/{thread_step}",
        )
        sending.send_step(earlier)
        step = step.model_copy(update={"in_reply_to_message_id": earlier.message_id})

    sending.send_step(step)

    body = transport.bodies[-1]
    assert_valid_request(body)
    if thread_step is not None:
        assert body["subject"].startswith("Re: ")
        assert body["headers"]["In-Reply-To"] == transport.bodies[0]["headers"]["Message-ID"]


def test_double_opt_in_request_is_valid_against_sendgrid_schema(
    engine: sa.Engine, transport: RecordingTransport
) -> None:
    service = OptInService(
        engine,
        transport,  # type: ignore[arg-type]
        OptInLinks(PUBLIC_URL, SECRET),
        TEMPLATES,
    )
    contact = make_contact(engine, first_name="Jürgen", last_name="Groß")

    service.request(contact.id)

    [body] = transport.bodies
    assert_valid_request(body)


def _step(contact: Any, template: StepTemplate) -> SendStepInput:
    return step_input(
        contact,
        template.step,
        sequence=template.sequence,
        workflow_id=enrollment_workflow_id(template.sequence, contact.id),
        template=f"{template.sequence}/{template.step}",
        variant=template.variant,
    )
