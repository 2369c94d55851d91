"""Enrollment checks that run before any workflow starts, and the outcome mirror in SQL."""

from __future__ import annotations

import pytest

from activities.enrolling import record_outcome, validate_params
from models.db import session_scope
from models.enrollment import FinishEnrollmentInput, Outcome, enrollment_workflow_id
from models.errors import InvalidInput
from models.tables import Enrollment
from tests.factories import make_contact


def test_unknown_sequence_is_refused_naming_the_known_ones():
    with pytest.raises(InvalidInput) as exc:
        validate_params("no_such_sequence", {})
    assert exc.value.field == "sequence" and "trade_intro" in exc.value.reason


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
    assert exc.value.field == "params" and problem in exc.value.reason


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
        assert row.outcome == "replied" and row.ended_at is not None


def test_outcome_of_an_erased_enrollment_is_a_no_op(engine):
    record_outcome(
        engine,
        FinishEnrollmentInput(workflow_id="nurture/trade_intro/gone", outcome=Outcome.CANCELLED),
    )


def test_import_refuses_disposable_and_no_reply_addresses_and_writes_nothing(engine):
    from sqlmodel import select

    from activities.contacts import ConsentEvidence, upsert_contact
    from models.tables import Contact

    for bad in ("buyer@mailinator.com", "noreply@importer.example.de", "not-an-address"):
        with pytest.raises(InvalidInput) as exc:
            upsert_contact(engine, bad, consent=ConsentEvidence(source="test"))
        assert exc.value.field == "email"
    with session_scope(engine) as s:
        assert s.exec(select(Contact)).all() == []


def test_import_flags_role_accounts_but_keeps_them(engine):
    from activities.contacts import ConsentEvidence, upsert_contact

    info = upsert_contact(
        engine, "Info@Importer.example.de", consent=ConsentEvidence(source="test")
    )
    buyer = upsert_contact(
        engine, "purchasing@importer.example.de", consent=ConsentEvidence(source="test")
    )
    assert info.role_account and info.email == "info@importer.example.de"
    assert not buyer.role_account
