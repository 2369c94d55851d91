"""Enrollment checks that run before any workflow starts, and the outcome mirror in SQL."""

from __future__ import annotations

import pytest

from activities.enrollment.enrolling import record_outcome, validate_params
from models.db import session_scope
from models.enrollment import FinishEnrollmentInput, Outcome, enrollment_workflow_id
from models.errors import InvalidInput
from models.tables import Enrollment
from tests.factories import make_contact


def test_unknown_sequence_is_refused_naming_the_known_ones():
    with pytest.raises(InvalidInput) as exc:
        validate_params("no_such_sequence", {})
    assert exc.value.field == "sequence"
    assert "trade_intro" in exc.value.reason


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"open_window": "soon"}, "open_window"),
        ({"opn_window": "P1D"}, "opn_window"),
        ({"open_window": "P5D", "case_study_after": "P4D"}, "open_window must be shorter"),
    ],
)
def test_bad_params_are_refused_before_the_workflow_starts(params, problem):
    with pytest.raises(InvalidInput) as exc:
        validate_params("trade_intro", params)
    assert exc.value.field == "params"
    assert problem in exc.value.reason


def test_good_params_pass():
    validate_params("trade_intro", {"open_window": "PT1H", "case_study_after": "P2D"})


def test_outcome_is_mirrored_into_the_enrollment_row(engine):
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    with session_scope(engine) as s:
        s.add(
            Enrollment(
                workflow_id=workflow_id,
                sequence="trade_intro",
                contact_id=contact.id,
                sender_id="default",
            )
        )
    record_outcome(engine, FinishEnrollmentInput(workflow_id=workflow_id, outcome=Outcome.REPLIED))
    with session_scope(engine) as s:
        row = s.get(Enrollment, workflow_id)
        assert row.outcome == "replied"
        assert row.ended_at is not None


@pytest.mark.parametrize(
    ("outcome", "event"),
    [
        (Outcome.CONVERTED, "meeting_booked"),
        (Outcome.EXITED, "do_not_contact"),
        (Outcome.REPLIED, None),
    ],
)
def test_the_business_event_that_ended_it_is_mirrored(engine, outcome, event):
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    with session_scope(engine) as s:
        s.add(
            Enrollment(
                workflow_id=workflow_id,
                sequence="trade_intro",
                contact_id=contact.id,
                sender_id="default",
                outcome_event="stale_from_a_previous_run",
            )
        )
    record_outcome(
        engine,
        FinishEnrollmentInput(workflow_id=workflow_id, outcome=outcome, outcome_event=event),
    )
    with session_scope(engine) as s:
        row = s.get(Enrollment, workflow_id)
        assert row.outcome == outcome.value
        assert row.outcome_event == event


def test_outcome_of_an_erased_enrollment_is_a_no_op(engine):
    record_outcome(
        engine,
        FinishEnrollmentInput(workflow_id="nurture/trade_intro/gone", outcome=Outcome.CANCELLED),
    )


def test_import_refuses_disposable_and_no_reply_addresses_and_writes_nothing(engine):
    from sqlmodel import select

    from activities.contacts.store import ConsentEvidence, upsert_contact
    from models.tables import Contact

    for bad in ("buyer@mailinator.com", "noreply@importer.example.de", "not-an-address"):
        with pytest.raises(InvalidInput) as exc:
            upsert_contact(engine, bad, consent=ConsentEvidence(source="test"))
        assert exc.value.field == "email"
    with session_scope(engine) as s:
        assert s.exec(select(Contact)).all() == []


def test_import_flags_role_accounts_but_keeps_them(engine):
    from activities.contacts.store import ConsentEvidence, upsert_contact

    info = upsert_contact(
        engine, "Info@Importer.example.de", consent=ConsentEvidence(source="test")
    )
    buyer = upsert_contact(
        engine, "purchasing@importer.example.de", consent=ConsentEvidence(source="test")
    )
    assert info.role_account
    assert info.email == "info@importer.example.de"
    assert not buyer.role_account


# --- enroll_many: the batch a cohort launch enrolls --------------------------------------------


class FakeClient:
    """Records `start_workflow` calls; ids in `running` are taken (Temporal says so)."""

    def __init__(self, running: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.running = set(running)
        self.started: dict[str, object] = {}

    async def start_workflow(self, workflow: str, arg: object, *, id: str, **kw: object) -> None:
        from temporalio.exceptions import WorkflowAlreadyStartedError

        if id in self.running:
            raise WorkflowAlreadyStartedError(id, workflow)
        self.started[id] = (arg, kw)


def _enroll_many(engine, client, contact_ids, **kw):
    import asyncio

    from activities.enrollment.enrolling import EnrollmentService

    service = EnrollmentService(engine, client, "test-queue")  # type: ignore[arg-type]
    values = {"cohort_id": "c1", "sender_id": "default", "send_windows": True} | kw
    return asyncio.run(
        service.enroll_many("trade_intro", [(c, None) for c in contact_ids], **values)
    )


def _rows(engine):
    from sqlmodel import select

    with session_scope(engine) as s:
        return {row.contact_id: row for row in s.exec(select(Enrollment)).all()}


def test_a_mixed_batch_gives_each_contact_its_own_result_and_mirrors_the_started(engine):
    from datetime import timedelta
    from uuid import uuid4

    from models.errors import (
        ConsentMissing,
        ConsentWithdrawn,
        ContactSuppressed,
        EnrollmentConflict,
        ReenrollmentRefused,
    )
    from models.tables import ConsentAction, SuppressionReason, utcnow
    from tests.factories import make_enrollment, make_sender, suppress, withdraw_consent

    make_sender(engine, time_zone="Asia/Shanghai")
    good = make_contact(engine, country="DE", time_zone="Europe/Berlin")
    good_too = make_contact(engine, country="FR")
    no_consent = make_contact(engine, consent=None)
    withdrawn = make_contact(engine)
    withdraw_consent(engine, withdrawn.id)
    suppressed = make_contact(engine)
    suppress(engine, suppressed.email, SuppressionReason.HARD_BOUNCE)
    unsubscribed = make_contact(engine)  # withdrawn and suppressed: reads as withdrawn
    withdraw_consent(engine, unsubscribed.id)
    suppress(engine, unsubscribed.email, SuppressionReason.UNSUBSCRIBE)
    live = make_contact(engine)
    make_enrollment(engine, live)  # a live row: re-enrollment refused before any start
    running = make_contact(engine)  # no row, but Temporal has the workflow running
    ended_long_ago = make_contact(engine)  # trade_intro re-enrolls 180 days after the end
    ended_lately = make_contact(engine)
    for contact, days in ((ended_long_ago, 200), (ended_lately, 10)):
        make_enrollment(engine, contact)
        with session_scope(engine) as s:
            row = s.get(Enrollment, enrollment_workflow_id("trade_intro", contact.id))
            row.outcome, row.ended_at = "completed", utcnow() - timedelta(days=days)
            s.add(row)
    regranted = make_contact(engine, consent=ConsentAction.WITHDRAWN)
    with session_scope(engine) as s:
        from models.tables import ConsentRecord

        s.add(ConsentRecord(contact_id=regranted.id, action=ConsentAction.CONFIRMED))
    unknown = uuid4()

    client = FakeClient({enrollment_workflow_id("trade_intro", running.id)})
    ids = [
        good.id,
        no_consent.id,
        withdrawn.id,
        suppressed.id,
        unsubscribed.id,
        unknown,
        live.id,
        running.id,
        ended_long_ago.id,
        ended_lately.id,
        regranted.id,
        good_too.id,
    ]
    results = _enroll_many(engine, client, ids)

    assert set(results) == set(ids)
    started = {good.id, ended_long_ago.id, regranted.id, good_too.id}
    for contact_id in started:
        assert results[contact_id] == enrollment_workflow_id("trade_intro", contact_id)
    expected = {
        no_consent.id: ConsentMissing,
        withdrawn.id: ConsentWithdrawn,
        suppressed.id: ContactSuppressed,
        unsubscribed.id: ConsentWithdrawn,
        unknown: InvalidInput,
        live.id: EnrollmentConflict,
        running.id: EnrollmentConflict,
        # Ended, and the rule refuses another: not live, so not a plain conflict (422, not 409).
        ended_lately.id: ReenrollmentRefused,
    }
    for contact_id, error in expected.items():
        assert type(results[contact_id]) is error, (contact_id, results[contact_id])
    assert results[unknown].field == "contact_id"
    assert "still running" in str(results[live.id])
    assert "already enrolled" in str(results[running.id])
    assert "180 days" in str(results[ended_lately.id])

    # Started: exactly the good ones, with their calendars and the cohort's search attributes.
    assert set(client.started) == {enrollment_workflow_id("trade_intro", c) for c in started}
    arg, kw = client.started[enrollment_workflow_id("trade_intro", good.id)]
    assert arg.cohort_id == "c1"
    assert arg.calendar.time_zone == "Europe/Berlin"
    assert arg.calendar.country == "DE"
    # All the workflow's first task would otherwise upsert: sequence, cohort and status.
    attributes = {p.key.name: p.value for p in kw["search_attributes"]}
    assert attributes == {
        "NurtureSequence": "trade_intro",
        "NurtureCohort": "c1",
        "NurtureStatus": "running",
    }
    # From a worker (a cohort launch) the first workflow task comes back with the start.
    assert kw["request_eager_start"] is True

    rows = _rows(engine)
    for contact_id in started:
        row = rows[contact_id]
        assert row.cohort_id == "c1"
        assert row.sender_id == "default"
        assert row.outcome is None
        assert row.ended_at is None
    # Refused ones keep what they had (or have no row).
    assert rows[ended_lately.id].outcome == "completed"
    assert rows[live.id].cohort_id is None
    for contact_id in (no_consent.id, withdrawn.id, suppressed.id, unknown, running.id):
        assert contact_id not in rows


def test_batch_consent_is_the_newest_record_as_check_consent_reads_it(engine):
    """Same `recorded_at`: the higher id decides; on every backend, as the single check."""
    from activities.contacts.consent import check_consent
    from models.errors import SendBlocked
    from models.tables import ConsentAction, ConsentRecord, Contact, utcnow
    from tests.factories import make_sender

    make_sender(engine)
    at = utcnow()
    orders = [
        [ConsentAction.GRANTED, ConsentAction.WITHDRAWN],
        [ConsentAction.WITHDRAWN, ConsentAction.GRANTED],
        [ConsentAction.WITHDRAWN, ConsentAction.CONFIRMED, ConsentAction.WITHDRAWN],
    ]
    contacts = []
    for actions in orders:
        contact = make_contact(engine, consent=None)
        with session_scope(engine) as s:
            for action in actions:
                s.add(ConsentRecord(contact_id=contact.id, action=action, recorded_at=at))
                s.flush()
        contacts.append(contact)
    results = _enroll_many(engine, FakeClient(), [c.id for c in contacts])
    for contact in contacts:
        with session_scope(engine) as s:
            try:
                check_consent(s, s.get(Contact, contact.id))
                single: type | None = None
            except SendBlocked as exc:
                single = type(exc)
        got = results[contact.id]
        assert (None if isinstance(got, str) else type(got)) is single


def test_batch_refusals_for_everyone_start_nothing(engine):
    from uuid import uuid4

    from tests.factories import make_sender

    make_sender(engine)
    contact = make_contact(engine)
    client = FakeClient()
    bad_params = _enroll_many(engine, client, [contact.id], params={"open_window": "soon"})
    assert bad_params[contact.id].field == "params"
    unknown = uuid4()
    no_sender = _enroll_many(engine, client, [contact.id, unknown], sender_id="nobody")
    assert no_sender[contact.id].field == "sender_id"
    assert no_sender[unknown].field == "contact_id"  # the contact is checked first
    assert client.started == {}
    assert _rows(engine) == {}
    assert _enroll_many(engine, client, []) == {}


def test_single_enroll_raises_what_the_batch_returns(engine):
    import asyncio

    from activities.enrollment.enrolling import EnrollmentService
    from models.errors import ConsentMissing, EnrollmentConflict
    from tests.factories import make_sender

    make_sender(engine)
    contact = make_contact(engine)
    silent = make_contact(engine, consent=None)
    client = FakeClient()
    service = EnrollmentService(engine, client, "test-queue")  # type: ignore[arg-type]
    workflow_id = asyncio.run(service.enroll("trade_intro", contact.id, send_windows=False))
    assert workflow_id == enrollment_workflow_id("trade_intro", contact.id)
    assert client.started[workflow_id][0].calendar is None
    with pytest.raises(EnrollmentConflict):
        asyncio.run(service.enroll("trade_intro", contact.id))
    with pytest.raises(ConsentMissing):
        asyncio.run(service.enroll("trade_intro", silent.id))
    with pytest.raises(InvalidInput):
        asyncio.run(service.enroll("trade_intro", contact.id, params={"nope": 1}))


def test_a_start_that_fails_otherwise_raises_after_the_started_are_mirrored(engine):
    from tests.factories import make_sender

    make_sender(engine)
    ok, broken = make_contact(engine), make_contact(engine)

    class Flaky(FakeClient):
        async def start_workflow(self, workflow, arg, *, id, **kw):
            if id == enrollment_workflow_id("trade_intro", broken.id):
                raise ConnectionError("temporal unreachable")
            await super().start_workflow(workflow, arg, id=id, **kw)

    with pytest.raises(ConnectionError):
        _enroll_many(engine, Flaky(), [ok.id, broken.id])
    assert set(_rows(engine)) == {ok.id}


def test_a_missing_mirror_row_is_written_and_an_existing_one_is_kept(engine):
    from activities.enrollment.enrolling import EnrollmentService
    from models.enrollment import EnrollmentInput

    service = EnrollmentService(engine, FakeClient(), "test-queue")  # type: ignore[arg-type]
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    mirrored = EnrollmentInput(contact_id=contact.id, sender_id="default", cohort_id="c1")
    service.mirror_if_missing("trade_intro", workflow_id, mirrored)  # crashed before its row
    assert _rows(engine)[contact.id].cohort_id == "c1"
    record_outcome(engine, FinishEnrollmentInput(workflow_id=workflow_id, outcome=Outcome.REPLIED))
    service.mirror_if_missing("trade_intro", workflow_id, mirrored)  # a later retry
    assert _rows(engine)[contact.id].outcome == Outcome.REPLIED


def test_a_re_enrollment_row_starts_without_the_last_runs_goal(engine):
    from activities.enrollment.enrolling import EnrollmentService
    from models.enrollment import EnrollmentInput

    service = EnrollmentService(engine, FakeClient(), "test-queue")  # type: ignore[arg-type]
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    started = EnrollmentInput(contact_id=contact.id, sender_id="default")
    service._mirror_many("trade_intro", [(workflow_id, started)])
    record_outcome(
        engine,
        FinishEnrollmentInput(
            workflow_id=workflow_id, outcome=Outcome.CONVERTED, outcome_event="order_placed"
        ),
    )

    service._mirror_many("trade_intro", [(workflow_id, started)])  # enrolled again

    row = _rows(engine)[contact.id]
    assert (row.outcome, row.outcome_event, row.ended_at) == (None, None, None)


def test_a_not_interested_reply_holds_re_enrollment_for_the_sequences_cool_off(engine):
    """quote_followup re-enrolls after completion; a `not_interested` reply to it keeps the
    contact out of it for 180 days (its `not_interested_cooloff`), other intents do not."""
    import asyncio
    from datetime import timedelta

    from activities.enrollment.enrolling import EnrollmentService
    from models.errors import ReenrollmentRefused
    from models.tables import Event, Reply, utcnow
    from tests.factories import make_enrollment, make_sender

    make_sender(engine)
    declined, declined_long_ago, neutral = (make_contact(engine) for _ in range(3))
    for contact, intent, days in (
        (declined, "not_interested", 10),
        (declined_long_ago, "not_interested", 200),
        (neutral, "neutral", 10),
    ):
        workflow_id = make_enrollment(engine, contact, "quote_followup")
        with session_scope(engine) as s:
            row = s.get(Enrollment, workflow_id)
            row.outcome, row.ended_at = "replied", utcnow() - timedelta(days=days)
            event = Event(
                esp_event_id=f"reply-{workflow_id}",
                esp_type="reply",
                kind="reply",
                workflow_id=workflow_id,
                occurred_at=row.ended_at,
            )
            s.add_all([row, event])
            s.flush()
            s.add(
                Reply(
                    event_id=event.id,
                    contact_id=contact.id,
                    workflow_id=workflow_id,
                    received_at=row.ended_at,
                    intent=intent,
                    classified_intent=intent,
                )
            )

    client = FakeClient()
    service = EnrollmentService(engine, client, "test-queue")  # type: ignore[arg-type]
    ids = [declined.id, declined_long_ago.id, neutral.id]
    results = asyncio.run(
        service.enroll_many("quote_followup", [(c, None) for c in ids], sender_id="default")
    )

    assert type(results[declined.id]) is ReenrollmentRefused
    assert "replied not interested on" in str(results[declined.id])
    assert "waits 180 days" in str(results[declined.id])
    assert results[declined_long_ago.id] == enrollment_workflow_id(
        "quote_followup", declined_long_ago.id
    )
    assert results[neutral.id] == enrollment_workflow_id("quote_followup", neutral.id)
