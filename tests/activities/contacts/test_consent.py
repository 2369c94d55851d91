"""The one consent rule, read the same way by every caller: the send step, enrolling (batched),
import and the double opt-in. Each scenario is a ledger (written in one instant, so the id order
decides, as on a fast import) and a suppression, with the answer written out; the rule and every
caller must give that answer."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

import pytest
import sqlalchemy as sa

from activities.contacts.consent import check_consent, mailing_refusal, newest_consent
from activities.contacts.double_opt_in import OptInLinks, OptInService, OptInStatus
from activities.contacts.importing import import_file
from activities.enrollment.enrolling import EnrollmentService
from activities.enrollment.sendgrid_transport import SendGridTransport
from models.db import session_scope
from models.errors import ConsentMissing, ConsentWithdrawn, ContactSuppressed, SendBlocked
from models.tables import ConsentAction, ConsentRecord, Contact, SuppressionReason, utcnow
from tests.factories import (
    PUBLIC_URL,
    SECRET,
    TEMPLATES,
    make_contact,
    make_sender,
    sending_service,
    step_input,
    suppress,
)
from tests.sim_fixtures import SIM_API_KEY

G, W, C = ConsentAction.GRANTED, ConsentAction.WITHDRAWN, ConsentAction.CONFIRMED


@dataclass(frozen=True)
class Scenario:
    """A ledger (oldest first) and a suppression, with what the rule must answer, written out:
    `refused` for mailing, `ask_refused` for the double opt-in request (which needs no consent)."""

    ledger: tuple[ConsentAction, ...]
    suppressed: bool
    refused: type[SendBlocked] | None
    ask_refused: type[SendBlocked] | None

    @property
    def id(self) -> str:
        return "-".join(a.value for a in self.ledger) + ("+suppressed" if self.suppressed else "")


MISSING, WITHDRAWN, SUPPRESSED = ConsentMissing, ConsentWithdrawn, ContactSuppressed

SCENARIOS = [
    Scenario((), False, refused=MISSING, ask_refused=None),
    Scenario((G,), False, refused=None, ask_refused=None),
    Scenario((C,), False, refused=None, ask_refused=None),
    Scenario((W,), False, refused=WITHDRAWN, ask_refused=WITHDRAWN),
    Scenario((G, W), False, refused=WITHDRAWN, ask_refused=WITHDRAWN),
    Scenario((W, G), False, refused=None, ask_refused=None),
    Scenario((W, C), False, refused=None, ask_refused=None),
    Scenario((G, W, C, W), False, refused=WITHDRAWN, ask_refused=WITHDRAWN),
    Scenario((G,), True, refused=SUPPRESSED, ask_refused=SUPPRESSED),
    Scenario((G, W), True, refused=WITHDRAWN, ask_refused=WITHDRAWN),
    Scenario((), True, refused=MISSING, ask_refused=SUPPRESSED),
]


def _refusal_type(refusal: SendBlocked | None) -> type[SendBlocked] | None:
    return type(refusal) if refusal is not None else None


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_the_rule_answers_as_the_table_says(scenario: Scenario) -> None:
    newest = scenario.ledger[-1] if scenario.ledger else None

    mailing = mailing_refusal(uuid4(), newest, scenario.suppressed)
    asking = mailing_refusal(uuid4(), newest, scenario.suppressed, consent_required=False)

    assert _refusal_type(mailing) is scenario.refused
    assert _refusal_type(asking) is scenario.ask_refused


def _contact(engine: sa.Engine, scenario: Scenario) -> Contact:
    contact = make_contact(engine, consent=None)
    at = utcnow()
    with session_scope(engine) as s:
        for action in scenario.ledger:
            s.add(
                ConsentRecord(contact_id=contact.id, action=action, source="test", recorded_at=at)
            )
            s.flush()  # one instant: the id order decides
    if scenario.suppressed:
        suppress(engine, contact.email, SuppressionReason.HARD_BOUNCE)
    return contact


def _raised(call) -> type[SendBlocked] | None:
    try:
        call()
    except SendBlocked as exc:
        return type(exc)
    return None


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_send_step_and_batched_enrolling_agree_with_the_rule(engine, sim, scenario):
    make_sender(engine)
    contact = _contact(engine, scenario)
    expected = scenario.refused

    with session_scope(engine) as s:
        assert _raised(lambda: check_consent(s, s.get(Contact, contact.id))) is expected

    sending = sending_service(engine, sim.url, SIM_API_KEY)
    assert _raised(lambda: sending.send_step(step_input(contact))) is expected

    enrolling = EnrollmentService(engine, client=None, task_queue="unused")  # type: ignore[arg-type]
    [verdict] = enrolling._check_many("trade_intro", [contact.id], "default").values()
    assert (type(verdict) if isinstance(verdict, SendBlocked) else None) is expected


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_double_opt_in_asks_only_whom_the_rule_lets_be_asked(engine, sim, scenario):
    make_sender(engine)
    contact = _contact(engine, scenario)
    service = OptInService(
        engine,
        SendGridTransport(api_key=SIM_API_KEY, host=sim.url, timeout_seconds=5),
        OptInLinks(PUBLIC_URL, SECRET),
        TEMPLATES,
    )
    outcome: list[OptInStatus] = []
    raised = _raised(lambda: outcome.append(service.request(contact.id).status))
    if scenario.ledger and scenario.ledger[-1] == C:
        assert raised is None
        assert outcome == [OptInStatus.ALREADY_CONFIRMED]
    else:
        assert raised is scenario.ask_refused


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_import_reads_the_newest_record_as_the_rule_does(engine, scenario):
    contact = _contact(engine, scenario)
    with session_scope(engine) as s:
        newest = newest_consent(s, contact.id)
    assert (newest.action if newest else None) == (scenario.ledger[-1] if scenario.ledger else None)

    # Re-importing the contact without new consent: counted as needing opt-in iff no record.
    report = import_file(engine, f"email\n{contact.email}\n".encode(), filename="again.csv")
    assert report.needs_opt_in == (0 if scenario.ledger else 1)
    # With a consent source but no time: refused iff the newest record is a withdrawal.
    csv = f"email,consent_source\n{contact.email},web form\n"
    report = import_file(engine, csv.encode(), filename="regrant.csv")
    withdrawn = bool(scenario.ledger) and scenario.ledger[-1] == W
    assert [p.field for p in report.rejected] == (["consent_time"] if withdrawn else [])
