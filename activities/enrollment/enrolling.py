"""Enrolls contacts in sequences: checks the contact may be mailed, starts its workflow under the
id `nurture/{sequence}/{contact_id}` with the search attributes, and mirrors it in SQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
import structlog
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.contacts.consent import mailing_refusal, newest_consent_actions, suppressed_hashes
from models import search_attributes as sa_keys
from models.ab_test import AbAssignment
from models.calendar import ContactCalendar
from models.db import session_scope
from models.enrollment import (
    EnrollmentInput,
    EnrollmentStatus,
    FinishEnrollmentInput,
    TriggerRef,
    enrollment_workflow_id,
)
from models.errors import (
    EnrollmentConflict,
    InvalidInput,
    NurtureError,
    ReenrollmentRefused,
)
from models.replies import ReplyIntent
from models.tables import (
    ConsentAction,
    Contact,
    Enrollment,
    Reply,
    Sender,
    address_hash,
    utcnow,
)
from workflows.calendar import time_zone_for

log = structlog.stdlib.get_logger(__name__)
T = TypeVar("T")


#: Contacts per IN list: well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 500


class EnrollmentService:
    """Starts enrollments; the CLI and the API both call it."""

    def __init__(self, engine: sa.Engine, client: Client, task_queue: str) -> None:
        self._engine = engine
        self._client = client
        self._task_queue = task_queue

    def _check_many(
        self, sequence: str, contact_ids: list[UUID], sender_id: str
    ) -> dict[UUID, ContactCalendar | NurtureError]:
        """Per contact, refuse what cannot be mailed or re-enrolled — in the order and with the
        errors of a single enrollment's checks: live (`EnrollmentConflict`) or re-enrollment
        refused (`ReenrollmentRefused`), unknown contact, unknown sender (`InvalidInput`),
        consent (`mailing_refusal`, the one rule) — else the contact's calendar for send windows.
        One session, a few set-based queries."""
        from workflows.registry import by_name  # workflow classes only, no I/O

        sequence_class = by_name(sequence)
        reenrollment = sequence_class.reenrollment
        cooloff = sequence_class.not_interested_cooloff
        workflow_ids = {enrollment_workflow_id(sequence, c): c for c in contact_ids}
        now = utcnow()
        with session_scope(self._engine) as session:
            previous: dict[UUID, Enrollment] = {}
            declined: dict[UUID, datetime] = {}
            contacts: dict[UUID, Contact] = {}
            newest_consent: dict[UUID, ConsentAction] = {}
            for chunk in _chunks(contact_ids):
                ids = [enrollment_workflow_id(sequence, c) for c in chunk]
                for row in session.exec(
                    select(Enrollment).where(col(Enrollment.workflow_id).in_(ids))
                ):
                    previous[workflow_ids[row.workflow_id]] = row
                for workflow_id, received_at in session.exec(
                    select(Reply.workflow_id, Reply.received_at).where(
                        col(Reply.workflow_id).in_(ids),
                        Reply.intent == ReplyIntent.NOT_INTERESTED.value,
                        Reply.received_at > now - cooloff,
                    )
                ):
                    decliner = workflow_ids[str(workflow_id)]
                    declined[decliner] = max(received_at, declined.get(decliner, received_at))
                for found in session.exec(select(Contact).where(col(Contact.id).in_(chunk))):
                    contacts[found.id] = found
                newest_consent.update(newest_consent_actions(session, chunk))
            sender = session.get(Sender, sender_id)
            hashes = {c.id: address_hash(c.email) for c in contacts.values()}
            suppressed: set[str] = set()
            for chunk_hashes in _chunks(sorted(set(hashes.values()))):
                suppressed.update(suppressed_hashes(session, chunk_hashes))

        results: dict[UUID, ContactCalendar | NurtureError] = {}
        for contact_id in contact_ids:
            before = previous.get(contact_id)
            refusal = reenrollment.refusal(before.ended_at, now) if before is not None else None
            if refusal is None and contact_id in declined:
                refusal = (
                    f"replied not interested on {declined[contact_id]:%Y-%m-%d}; this sequence "
                    f"waits {cooloff.days} days after that"
                )
            contact = contacts.get(contact_id)
            action = newest_consent.get(contact_id)
            if refusal is not None:
                # Live (its row not ended) is a conflict; an ended one the rule refuses is not.
                live = before is not None and before.ended_at is None
                results[contact_id] = (EnrollmentConflict if live else ReenrollmentRefused)(
                    f"contact {contact_id} in {sequence}: {refusal}"
                )
            elif contact is None:
                results[contact_id] = InvalidInput("contact_id", f"no contact {contact_id}")
            elif sender is None:
                results[contact_id] = InvalidInput("sender_id", f"no sender {sender_id!r}")
            elif (
                blocked := mailing_refusal(contact_id, action, hashes[contact_id] in suppressed)
            ) is not None:
                results[contact_id] = blocked
            else:
                results[contact_id] = ContactCalendar(
                    time_zone=time_zone_for(contact.time_zone, contact.country, sender.time_zone),
                    country=contact.country,
                )
        return results

    def mirror_if_missing(self, sequence: str, workflow_id: str, input: EnrollmentInput) -> None:
        """Write an enrollment's SQL row unless it exists (a launch retried after a crash between
        the workflow's start and its row); an existing row, maybe already ended, is kept."""
        self._mirror_many(sequence, [(workflow_id, input)], replace=False)

    def _mirror_many(
        self, sequence: str, inputs: list[tuple[str, EnrollmentInput]], *, replace: bool = True
    ) -> None:
        """The enrollments' SQL rows, in one upsert: a re-enrollment's row starts afresh (no
        outcome, no end), as `session.merge` of a new row would. `replace=False` keeps rows
        that exist."""
        if not inputs:
            return
        rows = [
            {
                "workflow_id": workflow_id,
                "sequence": sequence,
                "contact_id": input.contact_id,
                "cohort_id": input.cohort_id,
                "sender_id": input.sender_id,
                "outcome": None,
                "outcome_event": None,
                "reply_intent": None,
                "started_at": utcnow(),
                "ended_at": None,
            }
            for workflow_id, input in inputs
        ]
        with session_scope(self._engine) as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            table = Enrollment.__table__  # type: ignore[attr-defined]
            for chunk in _chunks(rows, 200):
                stmt = insert(table).values(chunk)
                if replace:
                    stmt = stmt.on_conflict_do_update(
                        index_elements=["workflow_id"],
                        set_={n: stmt.excluded[n] for n in chunk[0] if n != "workflow_id"},
                    )
                else:
                    stmt = stmt.on_conflict_do_nothing(index_elements=["workflow_id"])
                session.execute(stmt)

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
        trigger: TriggerRef | None = None,
        start_delay: timedelta | None = None,
        memo: dict[str, str] | None = None,
    ) -> str:
        """Start the enrollment; returns its workflow id. `EnrollmentConflict` if one is live.

        `send_windows=False` lets steps go whenever due (demos and tests that run in seconds).
        `ab`: the variant of the cohort's A/B-tested step this contact gets. `trigger`: the
        business event that enrolls the contact (`input.trigger`); `start_delay`: the workflow
        exists at once (so it is live for conflicts) and runs its first step after the delay;
        `memo`: opaque keys the starter recognises its own start by (`started_with_memo`).
        """
        result = (
            await self.enroll_many(
                sequence,
                [(contact_id, ab)],
                cohort_id=cohort_id,
                sender_id=sender_id,
                params=params,
                send_windows=send_windows,
                trigger=trigger,
                start_delay=start_delay,
                memo=memo,
            )
        )[contact_id]
        if isinstance(result, Exception):
            raise result
        return result

    async def enroll_many(
        self,
        sequence: str,
        contacts: list[tuple[UUID, AbAssignment | None]],
        *,
        cohort_id: str | None = None,
        sender_id: str = "default",
        params: dict[str, Any] | None = None,
        send_windows: bool = True,
        concurrency: int = 20,
        trigger: TriggerRef | None = None,
        start_delay: timedelta | None = None,
        memo: dict[str, str] | None = None,
    ) -> dict[UUID, str | NurtureError]:
        """Enroll many contacts (each with its A/B assignment) in `sequence`: the checks of
        `enroll` for the whole batch in one session, the workflows started `concurrency` at a
        time, the SQL rows of the started ones written in one statement.

        Per contact: its workflow id, or the error `enroll` would raise for it — `InvalidInput`
        (bad params, unknown contact or sender), a `SendBlocked` (`ConsentMissing`,
        `ConsentWithdrawn`, `ContactSuppressed`) or `EnrollmentConflict` (the workflow is
        running; `ReenrollmentRefused`: an ended one, and the rule refuses). Any other error
        (Temporal or the database unreachable) is raised, after the rows of the enrollments
        already started are written.
        """
        if not contacts:
            return {}
        try:
            validate_params(sequence, params or {})
        except InvalidInput as exc:
            return {contact_id: exc for contact_id, _ in contacts}
        checked = await asyncio.to_thread(
            self._check_many, sequence, [c for c, _ in contacts], sender_id
        )
        results: dict[UUID, str | NurtureError] = {}
        unexpected: list[BaseException] = []
        started: list[tuple[str, EnrollmentInput]] = []
        semaphore = asyncio.Semaphore(concurrency)
        # Everything the workflow's first task would upsert, set at start instead (it reads them).
        pairs = [
            SearchAttributePair(sa_keys.SEQUENCE, sequence),
            SearchAttributePair(sa_keys.STATUS, EnrollmentStatus.RUNNING.value),
        ]
        if cohort_id:
            pairs.append(SearchAttributePair(sa_keys.COHORT, cohort_id))
        search_attributes = TypedSearchAttributes(pairs)

        async def start(contact_id: UUID, ab: AbAssignment | None) -> None:
            calendar = checked[contact_id]
            if isinstance(calendar, NurtureError):
                results[contact_id] = calendar
                return
            workflow_id = enrollment_workflow_id(sequence, contact_id)
            input = EnrollmentInput(
                contact_id=contact_id,
                sender_id=sender_id,
                cohort_id=cohort_id,
                params=params or {},
                calendar=calendar if send_windows else None,
                ab=ab,
                trigger=trigger,
            )
            async with semaphore:
                try:
                    await self._client.start_workflow(
                        sequence,
                        input,
                        id=workflow_id,
                        task_queue=self._task_queue,
                        search_attributes=search_attributes,
                        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                        start_delay=start_delay,
                        memo=memo,
                        # Started from a worker (a cohort launch), the first workflow task
                        # comes back in the start's answer and runs on that worker: no
                        # matching, no poll. Elsewhere (the API, the CLI) it is a plain start.
                        request_eager_start=True,
                    )
                except WorkflowAlreadyStartedError as exc:
                    conflict = EnrollmentConflict(
                        f"contact {contact_id} is already enrolled in {sequence} ({workflow_id})"
                    )
                    conflict.__cause__ = exc
                    results[contact_id] = conflict
                    return
                except Exception as exc:  # raised below, once the started ones are mirrored
                    unexpected.append(exc)
                    return
            started.append((workflow_id, input))
            results[contact_id] = workflow_id

        await asyncio.gather(*(start(contact_id, ab) for contact_id, ab in contacts))
        await asyncio.to_thread(self._mirror_many, sequence, started)
        for workflow_id, input in started:
            log.info(
                "contact enrolled",
                contact_id=str(input.contact_id),
                sequence=sequence,
                workflow_id=workflow_id,
            )
        if unexpected:
            raise unexpected[0]
        return results


async def started_with_memo(client: Client, workflow_id: str, key: str, value: str) -> bool:
    """Whether the running workflow `workflow_id` was started with `memo[key] == value`: how a
    starter that crashed after `start_workflow` recognises its own start on the retry (Temporal
    generates the start's request id itself, so it cannot deduplicate it for us)."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
        return await description.memo_value(key, default=None) == value
    except RPCError:
        return False


def _chunks(items: list[T], size: int = _IN_CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
            row.outcome_event = finish.outcome_event
            row.reply_intent = finish.reply_intent.value if finish.reply_intent else None
            row.ended_at = utcnow()
            session.add(row)


__all__ = ["EnrollmentService", "record_outcome", "started_with_memo", "validate_params"]
