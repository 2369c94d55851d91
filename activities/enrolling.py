"""Enrolls contacts in sequences: checks the contact may be mailed, starts its workflow under the
id `nurture/{sequence}/{contact_id}` with the search attributes, and mirrors it in SQL."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.sending import check_consent
from models import search_attributes as sa_keys
from models.ab_test import AbAssignment
from models.calendar import ContactCalendar
from models.db import session_scope
from models.enrollment import EnrollmentInput, FinishEnrollmentInput, enrollment_workflow_id
from models.errors import EnrollmentConflict, InvalidInput
from models.tables import Contact, Enrollment, Sender, utcnow
from workflows.calendar import time_zone_for

log = logging.getLogger(__name__)


class EnrollmentService:
    """Starts enrollments; the CLI and the API both call it."""

    def __init__(self, engine: sa.Engine, client: Client, task_queue: str) -> None:
        self._engine = engine
        self._client = client
        self._task_queue = task_queue

    def _check(self, sequence: str, contact_id: UUID, sender_id: str) -> ContactCalendar:
        """Refuse what cannot be mailed or re-enrolled; the contact's calendar for send windows."""
        with session_scope(self._engine) as session:
            previous = session.get(Enrollment, enrollment_workflow_id(sequence, contact_id))
            if previous is not None:
                from workflows.registry import by_name  # workflow classes only, no I/O

                refusal = by_name(sequence).reenrollment.refusal(previous.ended_at, utcnow())
                if refusal is not None:
                    raise EnrollmentConflict(f"contact {contact_id} in {sequence}: {refusal}")
            contact = session.get(Contact, contact_id)
            if contact is None:
                raise InvalidInput("contact_id", f"no contact {contact_id}")
            sender = session.get(Sender, sender_id)
            if sender is None:
                raise InvalidInput("sender_id", f"no sender {sender_id!r}")
            check_consent(session, contact)
            return ContactCalendar(
                time_zone=time_zone_for(contact.time_zone, contact.country, sender.time_zone),
                country=contact.country,
            )

    def _mirror(self, workflow_id: str, sequence: str, input: EnrollmentInput) -> None:
        with session_scope(self._engine) as session:
            session.merge(
                Enrollment(
                    workflow_id=workflow_id,
                    sequence=sequence,
                    contact_id=input.contact_id,
                    cohort_id=input.cohort_id,
                    sender_id=input.sender_id,
                )
            )

    async def enroll(
        self,
        sequence: str,
        contact_id: UUID,
        *,
        cohort_id: str | None = None,
        sender_id: str = "default",
        params: dict[str, Any] | None = None,
        send_windows: bool = True,
        ab: AbAssignment | None = None,
    ) -> str:
        """Start the enrollment; returns its workflow id. `EnrollmentConflict` if one is live.

        `send_windows=False` lets steps go whenever due (demos and tests that run in seconds).
        `ab`: the variant of the cohort's A/B-tested step this contact gets.
        """
        validate_params(sequence, params or {})
        calendar = await asyncio.to_thread(self._check, sequence, contact_id, sender_id)
        workflow_id = enrollment_workflow_id(sequence, contact_id)
        input = EnrollmentInput(
            contact_id=contact_id,
            sender_id=sender_id,
            cohort_id=cohort_id,
            params=params or {},
            calendar=calendar if send_windows else None,
            ab=ab,
        )
        pairs = [SearchAttributePair(sa_keys.SEQUENCE, sequence)]
        if cohort_id:
            pairs.append(SearchAttributePair(sa_keys.COHORT, cohort_id))
        try:
            await self._client.start_workflow(
                sequence,
                input,
                id=workflow_id,
                task_queue=self._task_queue,
                search_attributes=TypedSearchAttributes(pairs),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
        except WorkflowAlreadyStartedError as exc:
            raise EnrollmentConflict(
                f"contact {contact_id} is already enrolled in {sequence} ({workflow_id})"
            ) from exc
        await asyncio.to_thread(self._mirror, workflow_id, sequence, input)
        log.info("enrolled contact %s in %s", contact_id, sequence)
        return workflow_id


def validate_params(sequence: str, params: dict[str, Any]) -> None:
    """Reject an unknown sequence or params it would refuse, before anything starts."""
    from workflows.registry import by_name  # workflow classes only, no I/O

    try:
        cls = by_name(sequence)
    except KeyError as exc:
        raise InvalidInput("sequence", str(exc.args[0])) from None
    try:
        cls.params_model.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(params)'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput("params", problems) from None


def record_outcome(engine: sa.Engine, finish: FinishEnrollmentInput) -> None:
    """Mirror how an enrollment ended into its SQL row (no row, e.g. erased: nothing to do)."""
    with session_scope(engine) as session:
        row = session.get(Enrollment, finish.workflow_id)
        if row is not None:
            row.outcome = finish.outcome.value
            row.ended_at = utcnow()
            session.add(row)


__all__ = ["EnrollmentService", "record_outcome", "validate_params"]
