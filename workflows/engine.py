"""The sequence engine: `SequenceWorkflow`, the base every follow-up sequence inherits (sending a
step, durable waits, waiting for engagement events, exits on reply / unsubscribe / bounce /
complaint / cancel, the `state` query, the search attributes) and the `@sequence` decorator.

Authors import it from the package, as `Sequence`, which passes it through the sandbox (shared
by every workflow run instead of re-executed for each)::

    from workflows import EventKind, Sequence, sequence

    @sequence("quote_followup")
    class QuoteFollowup(Sequence[QuoteParams]):
        async def steps(self) -> None:
            intro = await self.send("intro")
            opened = await self.wait_for(EventKind.OPEN, on=intro, within=self.params.open_window)
            if opened is None:
                await self.send("bump", reply_to=intro)
            await self.wait(until=intro.sent_at + self.params.offer_after)
            await self.send("offer")

`@sequence(name)` sets `name` once and makes the class the Temporal workflow `name`, with a `run`
that enrolls (`EnrollmentInput` in, `EnrollmentResult` out); `Sequence[QuoteParams]` validates
`EnrollmentInput.params` into `self.params: QuoteParams`; `send` returns a `Step` that
`wait_for(on=...)` and `send(reply_to=...)` take, and whose `sent_at` anchors deadlines.

Business events (`POST /api/events`) reach the workflow as engagement events of kind `business`
carrying the event's name, nurture's id of it and its time — never its properties. A sequence
declares `goals` (names that end it `converted`, the goal named in the result and the SQL mirror),
`exit_on` (names that end it `exited`) and `triggers` (names that enroll a contact; the event is
then `self.trigger`). `wait_for` takes business event names beside `EventKind`s, and
`await self.event_property(event, "valid_until")` reads one property through the
`event_property` activity (its result is kept in the history: read what the flow needs, a date
or a code, never personal data). `send(step, send_window=False)` sends outside the send window
(answering the buyer's own request is not cold outreach).

An exit (a human reply, an unsubscribe, a complaint, a hard bounce, a goal or `exit_on` event, a
`cancel` signal, workflow cancellation, or a send blocked for consent / suppression) ends the
enrollment at once, even in the middle of a multi-day wait: `send`, `wait`, `wait_for` and
`event_property` raise `EnrollmentEnded`, which unwinds `steps()` up to `enroll`. Do not swallow it (no bare `except
Exception` around them); a swallowed exit still wins, because `enroll` returns the exit outcome
whatever `steps()` does after.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, NoReturn, cast, get_args, get_origin, overload

from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    is_cancelled_exception,
)
from typing_extensions import TypeVar

with workflow.unsafe.imports_passed_through():
    from models import search_attributes as sa
    from models.business_events import Trigger, check_event_names, event_name_problem
    from models.calendar import ContactCalendar, SendWindow
    from models.enrollment import (
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentState,
        EnrollmentStatus,
        EventPropertyInput,
        EventPropertyResult,
        FinishEnrollmentInput,
        Outcome,
        SendStatus,
        SendStepInput,
        SendStepResult,
        SentStep,
        TriggerRef,
    )
    from models.errors import (
        ConsentMissing,
        ConsentWithdrawn,
        ContactNotFound,
        ContactSuppressed,
        QuotaExhausted,
        WinnerPending,
        deferral_error_types,
        permanent_error_types,
    )
    from models.events import SIGNALLED_KINDS, BounceClass, EngagementEvent, EventKind
    from models.reenrollment import Reenrollment
    from models.replies import ReplyIntent
    from models.wire import (
        AB_DECIDED_SIGNAL,
        CANCEL_SIGNAL,
        EVENT_PROPERTY_ACTIVITY,
        EVENT_SIGNAL,
        EVENTS_SIGNAL,
        FINISH_ENROLLMENT_ACTIVITY,
        PAUSE_SIGNAL,
        RESUME_SIGNAL,
        SEND_STEP_ACTIVITY,
        SENDER_RESUMED_SIGNAL,
        STATE_QUERY,
    )
    from workflows.calendar import add_business_days, next_send_time

#: Permanent send errors that end the enrollment quietly instead of failing the workflow.
_SEND_BLOCKED_OUTCOMES: dict[str, Outcome] = {
    ConsentWithdrawn.__name__: Outcome.UNSUBSCRIBED,
    ConsentMissing.__name__: Outcome.NO_CONSENT,
    ContactSuppressed.__name__: Outcome.SUPPRESSED,
    ContactNotFound.__name__: Outcome.CANCELLED,
}

#: Sends the activity deferred: the workflow waits durably, then tries the step again.
_DEFERRALS = deferral_error_types()

#: The search attributes a sequence keeps up to date (the starter may set some at start).
_OWN_ATTRIBUTES = frozenset(key.name for key in sa.ALL)
#: The patch after which `NurtureStatus` is upserted only off the normal flow, on return and at
#: the end (with the outcome), and `NurtureStep` never.
SPARSE_STATUS_PATCH = "sparse-status"
#: Statuses of the normal flow, shown as `running` under the sparse scheme.
_NORMAL_FLOW = frozenset(
    {EnrollmentStatus.RUNNING, EnrollmentStatus.SENDING, EnrollmentStatus.WAITING}
)

SEND_START_TO_CLOSE = timedelta(minutes=1)
#: send_step heartbeats every second while it runs (activities/enrollment/activities.py): a
#: killed worker's send is retried after this, not after the start-to-close; the unfinished-row
#: rule keeps the retry from mailing twice.
SEND_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
#: How often a step held by a paused sender looks again (ops resume senders by hand).
SENDER_PAUSED_RECHECK = timedelta(minutes=30)
#: How often a step waiting for its cohort's A/B winner looks again (the decision also signals).
WINNER_RECHECK = timedelta(hours=1)
#: Mirroring the outcome into SQL retries until the database answers.
FINISH_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)
#: Reading an event property retries until the database answers (a missing event is no error).
EVENT_PROPERTY_START_TO_CLOSE = timedelta(seconds=30)
EVENT_PROPERTY_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)
SEND_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=list(permanent_error_types()),
)


class NoParams(BaseModel):
    """Params of a sequence that takes none: any key given is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: A sequence's params model: `class QuoteFollowup(Sequence[QuoteParams])` makes `self.params` a
#: `QuoteParams`; without one it is `NoParams`.
P = TypeVar("P", bound=BaseModel, default=NoParams)
S = TypeVar("S", bound="SequenceWorkflow[Any]")

#: What `wait_for` waits for: an ESP event kind or a business event name (`"order_placed"`), or
#: several of them (``{"quote_requested", EventKind.CLICK}``).
EventKinds = EventKind | str | Iterable[EventKind | str]


@dataclass(frozen=True, slots=True)
class Step:
    """A step this enrollment sent, as `send` returns it: pass it to `wait_for(on=...)` to wait
    for that email's events, to `send(reply_to=...)` to send in its thread."""

    #: The step's name (`intro`), as in templates, `SentStep.step` and the `NurtureStep` attribute.
    name: str
    message_id: str
    #: When the send completed (workflow time): `until=intro.sent_at + timedelta(days=4)`.
    sent_at: datetime
    status: SendStatus
    #: The A/B variant sent, if the cohort tests this step.
    variant: str | None = None
    #: How many engagement events the enrollment had seen when this step's send began: with
    #: `wait_for(..., on=step)`, business events count from there on (they are about no message).
    events_before: int = field(default=0, compare=False, repr=False)


class EnrollmentEnded(Exception):
    """Raised by `send`, `wait` and `wait_for` once the enrollment has an exit outcome.

    It unwinds `steps()` and is caught by `enroll`; sequence code must let it pass.
    """


def exit_outcome(event: EngagementEvent) -> Outcome | None:
    """The outcome an engagement event ends an enrollment with, or None if it does not."""
    if event.kind == EventKind.REPLY:
        if event.auto_reply:
            return None
        # "Please remove me" is an unsubscribe written in words (docs/architecture.md, Replies).
        return Outcome.UNSUBSCRIBED if event.is_opt_out else Outcome.REPLIED
    if event.kind == EventKind.UNSUBSCRIBE:
        return Outcome.UNSUBSCRIBED
    if event.kind == EventKind.COMPLAINT:
        return Outcome.COMPLAINED
    if event.kind == EventKind.BOUNCE and event.bounce_class == BounceClass.HARD:
        return Outcome.BOUNCED
    return None


def matches(
    event: EngagementEvent,
    kinds: AbstractSet[EventKind],
    *,
    count_machine_opens: bool = False,
    names: AbstractSet[str] = frozenset(),
) -> bool:
    """Whether `event` is one of `kinds` or a business event named in `names`, leaving out machine
    opens (unless counted) and auto-replies. `EventKind.BUSINESS` in `kinds` matches any business
    event."""
    if event.kind == EventKind.BUSINESS and event.name in names:
        return True
    if event.kind not in kinds:
        return False
    if event.kind == EventKind.OPEN and event.machine_open and not count_machine_opens:
        return False
    return not (event.kind == EventKind.REPLY and event.auto_reply)


def business_outcome(
    event: EngagementEvent, goals: AbstractSet[str], exit_on: AbstractSet[str]
) -> Outcome | None:
    """The outcome a business event ends an enrollment with: `converted` for one of `goals`,
    `exited` for one of `exit_on`, else None (as for any event that is not a business event)."""
    if event.kind != EventKind.BUSINESS or event.name is None:
        return None
    if event.name in goals:
        return Outcome.CONVERTED
    if event.name in exit_on:
        return Outcome.EXITED
    return None


def split_wanted(wanted: EventKinds) -> tuple[frozenset[EventKind], frozenset[str]]:
    """`wait_for`'s first argument as (ESP event kinds, business event names); `ValueError` naming
    the fault for a name that is not a business event name (`"click"` is `EventKind.CLICK`)."""
    items = [wanted] if isinstance(wanted, str) else list(wanted)
    kinds: set[EventKind] = set()
    names: set[str] = set()
    for item in items:
        if isinstance(item, EventKind):
            if item not in SIGNALLED_KINDS:
                raise ValueError(
                    f"wait_for(): {item.value!r} events are never signalled to a workflow (they "
                    "stay in SQL); wait for one of "
                    + ", ".join(sorted(kind.value for kind in SIGNALLED_KINDS))
                )
            kinds.add(item)
            continue
        problem = event_name_problem(item)
        if problem is not None:
            raise ValueError(f"wait_for(): {problem}")
        names.add(item)
    if not kinds and not names:
        raise ValueError("wait_for() needs at least one event kind or business event name")
    return frozenset(kinds), frozenset(names)


def sequence(name: str) -> Callable[[type[S]], type[S]]:
    """Make a `Sequence` subclass the sequence `name`: its Temporal workflow type, its
    `NurtureSequence` search attribute and its template folder (`templates/<name>/`).

    Sets `cls.name` and applies `workflow.defn(name=name)`, adding the `@workflow.run` method
    (`EnrollmentInput` in, `EnrollmentResult` out) unless the class defines its own. The name is
    wire API: running histories hold it, so a released sequence keeps it.
    """
    if not name or any(c.isspace() or c == "/" for c in name):
        raise ValueError(f"a sequence name is a word like 'trade_intro', not {name!r}")

    def apply(cls: type[S]) -> type[S]:
        if not (isinstance(cls, type) and issubclass(cls, SequenceWorkflow)):
            raise TypeError(f"@sequence({name!r}) decorates a subclass of Sequence, not {cls!r}")
        declared = cls.__dict__.get("name")
        if declared is not None and declared != name:
            raise TypeError(f"{cls.__name__} is named {declared!r} and @sequence({name!r})")
        cls.name = name
        if "run" not in cls.__dict__:
            cls.run = _run_method(cls)  # type: ignore[attr-defined]
        return workflow.defn(name=name)(cls)

    return apply


def _run_method(cls: type) -> Callable[..., Any]:
    """A `@workflow.run` for `cls`: Temporal wants it defined on the workflow class itself
    (it rejects one inherited from a base), so each sequence gets its own."""

    async def run(self: SequenceWorkflow[Any], input: EnrollmentInput) -> EnrollmentResult:
        return await self.enroll(input)

    # As if written in the class body: the SDK checks the method's module and qualified name
    # (and refuses a class defined inside a function, which a worker could not import).
    run.__module__ = cls.__module__
    run.__qualname__ = f"{cls.__qualname__}.run"
    run.__annotations__ = {"input": EnrollmentInput, "return": EnrollmentResult}
    return workflow.run(run)


def _params_model_of(cls: type) -> type[BaseModel] | None:
    """The params model `cls` gives its base (`Sequence[QuoteParams]`), if it gives one."""
    for base in cls.__dict__.get("__orig_bases__", ()):
        origin = get_origin(base)
        if not (isinstance(origin, type) and issubclass(origin, SequenceWorkflow)):
            continue
        (model,) = get_args(base)
        if isinstance(model, TypeVar):
            continue  # a generic intermediate base: its subclasses say
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(
                f"{cls.__name__}: Sequence[...] takes a pydantic model class, not {model!r}"
            )
        return model
    return None


class SequenceWorkflow(Generic[P]):
    """Base of every sequence workflow (authors say `Sequence`): subclass it, decorate the
    subclass with `@sequence("name")`, write `steps()`.

    Subclasses inherit the `engagement_event(s)`, `cancel`, `pause` / `resume`, `sender_resumed`
    and `ab_decided` signals and the `state` query.
    """

    #: The sequence name: workflow type, `NurtureSequence` search attribute, template folder.
    #: Set by `@sequence(name)`.
    name: ClassVar[str]
    #: Pydantic model `EnrollmentInput.params` is validated against into `self.params`: the
    #: argument of `Sequence[...]` (the enrolling service reads it too).
    params_model: ClassVar[type[BaseModel]] = NoParams
    #: A human reply also stops the other live enrollments at the contact's company (same email
    #: domain, never a free-mail one). The webhook side reads this; the workflow does not.
    stop_company_on_reply: ClassVar[bool] = False
    #: When this sequence may send, in the contact's local time (default: business days
    #: 09:00–17:00 of the contact's country). Needs `EnrollmentInput.calendar`.
    send_window: ClassVar[SendWindow] = SendWindow()
    #: May a contact enrolled before be enrolled again (checked by the enrolling service)?
    reenrollment: ClassVar[Reenrollment] = Reenrollment.never()
    #: After a `not_interested` reply, the contact is not enrolled in this sequence again for
    #: this long, whatever `reenrollment` allows (checked by the enrolling service).
    not_interested_cooloff: ClassVar[timedelta] = timedelta(days=180)
    #: Business event names that end the enrollment `converted` at once, even mid-wait (the
    #: result and the SQL mirror name the goal): ``goals = {"meeting_booked", "order_placed"}``.
    #: A set literal is fine: the class is given a frozenset when it is defined.
    goals: ClassVar[AbstractSet[str]] = frozenset()
    #: Business event names that end it `exited` (``{"became_customer", "do_not_contact"}``).
    exit_on: ClassVar[AbstractSet[str]] = frozenset()
    #: Business events that enroll a contact: ``(Trigger("quote_requested"),)`` (read by the
    #: API's trigger runner; the workflow gets the event as `input.trigger`).
    triggers: ClassVar[tuple[Trigger, ...]] = ()
    #: The steps need the triggering event (e.g. its quote): an enrollment started without
    #: `input.trigger` (by a cohort or `POST /api/enrollments`) ends `cancelled` at once, sending
    #: nothing, its reason naming the trigger. Needs `triggers`.
    requires_trigger: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Names checked when the class is defined: a typo fails the worker's start, not a buyer.
        cls.goals = check_event_names(cls.goals, where=f"{cls.__name__}.goals")
        cls.exit_on = check_event_names(cls.exit_on, where=f"{cls.__name__}.exit_on")
        if both := cls.goals & cls.exit_on:
            raise TypeError(f"{cls.__name__}: {sorted(both)} both in goals and exit_on")
        cls.triggers = tuple(cls.triggers)
        if not all(isinstance(t, Trigger) for t in cls.triggers):
            raise TypeError(f"{cls.__name__}.triggers takes Trigger(...) items")
        if cls.requires_trigger and not cls.triggers:
            raise TypeError(f"{cls.__name__}: requires_trigger without triggers")
        model = _params_model_of(cls)
        if model is None:
            return
        declared = cls.__dict__.get("params_model")
        if declared is not None and declared is not model:
            raise TypeError(f"{cls.__name__}: params_model and Sequence[...] disagree")
        cls.params_model = model

    def __init__(self) -> None:
        self._params: P | None = None
        #: `workflow.patched(SPARSE_STATUS_PATCH)`, read once when the enrollment starts.
        self._sparse_status = False
        self._input: EnrollmentInput | None = None
        self._outcome: Outcome | None = None
        self._reason: str | None = None
        #: The business event name that ended it (`converted`: the goal; `exited`: the event).
        self._outcome_event: str | None = None
        #: The intent of the human reply that ended it, if one did.
        self._reply_intent: ReplyIntent | None = None
        self._status = EnrollmentStatus.RUNNING
        self._current_step: str | None = None
        self._steps_sent: list[SentStep] = []
        self._events: list[EngagementEvent] = []
        self._esp_event_ids: set[str] = set()
        self._search_attributes: dict[str, str] = {}
        self._paused_until: datetime | None = None
        #: Bumped by `sender_resumed` and `ab_decided`: a deferred send tries again at once.
        self._nudges = 0
        self._ops_paused = False

    # --- what a sequence implements ----------------------------------------------------------

    async def steps(self) -> None:
        """The sequence's flow: `send`, `wait` and `wait_for` calls. Returning means completed."""
        raise NotImplementedError(f"{type(self).__name__} must implement steps()")

    # --- running an enrollment ----------------------------------------------------------------

    async def enroll(self, input: EnrollmentInput) -> EnrollmentResult:
        """Run `steps()` for one contact and return how the enrollment ended.

        Invalid `input.params` fail the workflow with a non-retryable `InvalidParams` error.
        Failures other than the exits (e.g. `TemplateError`, `EspRejected`) fail the workflow.
        """
        self._input = input
        # NurtureStatus leaves `running` only off the normal flow and ends as the outcome; no
        # NurtureStep (docs/architecture.md, Search attributes). Histories from before upsert
        # step and status at every send and wait, and replay that way.
        self._sparse_status = workflow.patched(SPARSE_STATUS_PATCH)
        # What the starter set is not upserted again (each upsert is a history event and a
        # visibility write): `EnrollmentService` sets all three, so nothing is upserted here. No
        # patch needed: replay matches upserts by count, not content, and histories from before
        # (started without a status) still upsert once here.
        self._search_attributes = {
            pair.key.name: str(pair.value)
            for pair in workflow.info().typed_search_attributes
            if pair.key.name in _OWN_ATTRIBUTES
        }
        self._set_search_attributes(
            (sa.SEQUENCE, self.name),
            (sa.COHORT, input.cohort_id),
            (sa.STATUS, self._status),
        )
        try:
            self._params = self._parse_params(input)
            self._raise_if_ended()  # an exit may have been signalled before the first task
            if self.requires_trigger and input.trigger is None:
                names = ", ".join(t.name for t in self.triggers)
                self.end(
                    Outcome.CANCELLED, f"{self.name} starts on its trigger ({names}); none given"
                )
            await self.steps()
        except EnrollmentEnded:
            pass
        except asyncio.CancelledError:
            self._end(Outcome.CANCELLED, "workflow cancelled")
        except FailureError as err:
            if not is_cancelled_exception(err):
                self._set_status(EnrollmentStatus.ENDED)
                raise
            # Cancelled while an activity ran: the activity was asked to stop.
            self._end(Outcome.CANCELLED, "workflow cancelled")
        outcome = self._outcome or Outcome.COMPLETED
        self._outcome = outcome
        self._set_status(EnrollmentStatus.ENDED)
        await workflow.execute_activity(
            FINISH_ENROLLMENT_ACTIVITY,
            FinishEnrollmentInput(
                workflow_id=workflow.info().workflow_id,
                outcome=outcome,
                reason=self._reason,
                outcome_event=self._outcome_event,
                reply_intent=self._reply_intent,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=FINISH_RETRY_POLICY,
            summary=f"finish {outcome}",
        )
        workflow.logger.info("enrollment ended", extra={"outcome": str(outcome)})
        return EnrollmentResult(
            outcome=outcome,
            steps_sent=list(self._steps_sent),
            reason=self._reason,
            goal=self._outcome_event if outcome == Outcome.CONVERTED else None,
            exit_event=self._outcome_event if outcome == Outcome.EXITED else None,
            reply_intent=self._reply_intent,
        )

    @property
    def params(self) -> P:
        """The enrollment's params, validated against the params model (set by `enroll`)."""
        if self._params is None:
            raise RuntimeError("enroll() has not run yet")
        return self._params

    @property
    def input(self) -> EnrollmentInput:
        """The enrollment's start input (set by `enroll`)."""
        if self._input is None:
            raise RuntimeError("enroll() has not run yet")
        return self._input

    @property
    def outcome(self) -> Outcome | None:
        """The exit outcome once the enrollment has one (None while it runs on)."""
        return self._outcome

    @property
    def steps_sent(self) -> list[SentStep]:
        return list(self._steps_sent)

    def business_days_after(self, instant: datetime, days: int) -> datetime:
        """`days` of the contact's business days after `instant`, at the same local clock time
        (weekends and its country's holidays skipped): ``wait_for(..., until=
        self.business_days_after(quote.sent_at, 2))``. Without a calendar: Monday to Friday, UTC."""
        return add_business_days(instant, days, self.calendar)

    @property
    def calendar(self) -> ContactCalendar:
        """The contact's calendar (time zone, country); UTC, Monday to Friday, when not given."""
        return self.input.calendar or ContactCalendar()

    @property
    def trigger(self) -> TriggerRef | None:
        """The business event that enrolled the contact (one of the sequence's `triggers`): its
        id, name and time; None when something else enrolled it (a cohort, the API, the CLI).
        Read its properties with `event_property(self.trigger, ...)`."""
        return self.input.trigger

    # --- the building blocks of steps() --------------------------------------------------------

    async def send(
        self,
        step: str,
        *,
        template: str | None = None,
        reply_to: Step | None = None,
        send_window: bool = True,
    ) -> Step:
        """Send the email of `step` (template `{name}/{step}` unless given), record it and return
        its `Step`.

        The step waits for the sequence's send window (the contact's business hours) unless
        `send_window=False`: for a mail that answers the buyer's own request (a quote they asked
        for), which is not cold outreach. Holds still apply (ops pause, out of office, quotas).
        The template sees the triggering business event's properties as `event` (`self.trigger`;
        see `activities/enrollment/rendering.py`).

        With `reply_to` (a `Step` sent before), this email goes in that one's thread (the activity
        makes it `Re:` with In-Reply-To / References). If the cohort A/B-tests this step, the
        contact's variant is sent — or, outside the sample, the winner, waited for durably
        (status `waiting_for_winner`) until the cohort launch calls it. A send blocked for consent or suppression
        ends the enrollment (`unsubscribed`, `no_consent`, `suppressed`; an unknown contact
        `cancelled`); any other failure fails the workflow.
        """
        self._raise_if_ended()
        events_before = len(self._events)
        await self._hold_while_paused()
        reply_to_message_id = reply_to.message_id if reply_to is not None else None
        trigger = self.input.trigger
        ab = self.input.ab if self.input.ab is not None and self.input.ab.step == step else None
        # From the workflow's seeded random: the same id on every retry and every replay, so the
        # activity finds its own message row instead of mailing twice.
        message_id = str(workflow.uuid4())
        self._current_step = step
        if self._sparse_status:
            self._set_status(EnrollmentStatus.SENDING)  # shown as `running`: upserts on return only
        else:
            self._status = EnrollmentStatus.SENDING
            self._set_search_attributes((sa.STEP, step), (sa.STATUS, self._status))
        while True:
            if send_window:
                await self._wait_for_send_window()
            try:
                result: SendStepResult = await workflow.execute_activity(
                    SEND_STEP_ACTIVITY,
                    SendStepInput(
                        message_id=message_id,
                        workflow_id=workflow.info().workflow_id,
                        contact_id=self.input.contact_id,
                        sequence=self.name,
                        step=step,
                        template=template or f"{self.name}/{step}",
                        sender_id=self.input.sender_id,
                        cohort_id=self.input.cohort_id,
                        in_reply_to_message_id=reply_to_message_id,
                        variant=ab.variant if ab else None,
                        await_winner=ab is not None and ab.variant is None,
                        trigger_event_id=trigger.event_id if trigger is not None else None,
                    ),
                    result_type=SendStepResult,
                    start_to_close_timeout=SEND_START_TO_CLOSE,
                    heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
                    retry_policy=SEND_RETRY_POLICY,
                    summary=f"send {step}",
                )
                break
            except ActivityError as err:
                if not await self._wait_out_deferral(err):
                    self._on_send_failed(step, err)
            # Ops may have paused the enrollment while the step was deferred. (Histories from
            # before this check replay without it.)
            if workflow.patched("hold-after-deferral"):
                await self._hold_while_paused()
            self._set_status(EnrollmentStatus.SENDING)
        self._steps_sent.append(
            SentStep(
                step=step, message_id=message_id, status=result.status.value, variant=result.variant
            )
        )
        sent = Step(
            name=step,
            message_id=message_id,
            sent_at=workflow.now(),
            status=result.status,
            variant=result.variant,
            events_before=events_before,
        )
        # No upsert: whatever follows in this same workflow task (wait, send, end) sets it.
        self._status = EnrollmentStatus.RUNNING
        workflow.logger.info(
            "step sent",
            extra={"step": step, "message_id": message_id, "status": str(result.status)},
        )
        # An exit that arrived while the activity ran: the email is out, the rest is not.
        self._raise_if_ended()
        return sent

    async def wait(
        self,
        duration: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        business_days: int = 0,
        until: datetime | None = None,
    ) -> None:
        """Sleep durably; wake early on an exit.

        ``wait(days=2)``, ``wait(hours=4, minutes=30)`` count calendar time; ``wait(until=t)``
        sleeps until the instant `t` (e.g. ``intro.sent_at + timedelta(days=4)``; a past `t`
        does not sleep). ``wait(business_days=3)`` counts the contact's business days (weekends
        and its country's public holidays skipped, in its time zone) and ends at the same local
        clock time. The next `send` then waits for the sequence's send window by itself.
        """
        self._raise_if_ended()
        total = (duration or timedelta()) + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        if until is not None:
            if total or business_days:
                raise ValueError("wait() takes a duration or until=, not both")
            total = _time_until(until)
        if business_days:
            total = self.business_days_after(workflow.now() + total, business_days) - workflow.now()
        if total <= timedelta():
            return
        await self._wait_until(lambda: False, total, summary=f"wait {_describe(total)}")
        self._raise_if_ended()

    @overload
    async def wait_for(
        self,
        kinds: EventKinds,
        *,
        within: timedelta | None = None,
        on: Step | None = None,
        count_machine_opens: bool = False,
    ) -> EngagementEvent | None: ...

    @overload
    async def wait_for(
        self,
        kinds: EventKinds,
        *,
        until: datetime,
        on: Step | None = None,
        count_machine_opens: bool = False,
    ) -> EngagementEvent | None: ...

    async def wait_for(
        self,
        kinds: EventKinds,
        *,
        within: timedelta | None = None,
        until: datetime | None = None,
        on: Step | None = None,
        count_machine_opens: bool = False,
    ) -> EngagementEvent | None:
        """The first engagement event of one of `kinds`, or None once the limit has passed.

        `kinds` holds `EventKind`s and business event names, one or several:
        ``wait_for({"quote_requested", EventKind.CLICK}, within=timedelta(days=2))``. A business
        event matches by its name (`EventKind.BUSINESS` matches any); the event returned carries
        its name and id, and `event_property(event, ...)` reads its properties. A name that is not
        a business event name (`"click"`: say `EventKind.CLICK`) raises `ValueError` at the call,
        and so does one of the sequence's `goals` or `exit_on`: such an event ends the
        enrollment, so it would never be returned.

        The limit is `within` (a duration from now) or `until` (an instant, e.g.
        ``intro.sent_at + timedelta(days=4)``), not both; with neither, it waits without limit
        (an exit still ends it). A limit already passed does not wait: a match already in, or None.

        With `on` (a `Step` that `send` returned), only ESP events about that email count —
        including those that arrived before this call (a click can beat us to it) — and business
        events, which are about no email, count from that step's send on. Without `on`, any
        message's events and any business event count, but only those arriving after this call.
        Machine opens (Apple MPP) never count as an OPEN unless `count_machine_opens`;
        auto-replies never count as a REPLY.
        """
        if within is not None and until is not None:
            raise ValueError("wait_for() takes within= or until=, not both")
        wanted, names = split_wanted(kinds)
        if ending := names & (self.goals | self.exit_on):
            raise ValueError(
                f"wait_for(): {', '.join(sorted(ending))} ends {self.name} (goals / exit_on), "
                "so wait_for would never return it"
            )
        self._raise_if_ended()
        limit = _time_until(until) if until is not None else within
        message_id = on.message_id if on is not None else None
        # ESP events: about `on`'s message whenever they came, else from now on. Business
        # events: from `on`'s send on, else from now on.
        business_from = on.events_before if on is not None else len(self._events)
        start = 0 if on is not None else len(self._events)

        def first_match() -> EngagementEvent | None:
            for index in range(start, len(self._events)):
                event = self._events[index]
                if event.kind == EventKind.BUSINESS:
                    if index < business_from:
                        continue
                elif message_id is not None and event.message_id != message_id:
                    continue
                if matches(event, wanted, count_machine_opens=count_machine_opens, names=names):
                    return event
            return None

        found = first_match()
        if found is None and (limit is None or limit > timedelta()):
            kinds_text = ",".join(sorted([*wanted, *names]))
            await self._wait_until(
                lambda: first_match() is not None,
                limit,
                summary=f"wait_for {kinds_text}" + (f" on {on.name}" if on else ""),
            )
            self._raise_if_ended()
            found = first_match()
        return found

    async def event_property(self, event: EngagementEvent | TriggerRef, name: str) -> Any:
        """One property of a stored business event — `self.trigger` or an event `wait_for`
        returned — as the JSON value posted (a string, number, bool, list or object); None when
        the event does not have it, or no longer exists (erased with its contact).

        It runs the `event_property` activity (properties stay in SQL, they may be personal),
        and the activity's result is kept in the workflow history for good: read only what the
        flow needs to decide (a date, a code, an amount), never a name, an address or free
        text. Templates see the triggering event's properties without this (as `event`).
        `ValueError` (a bug in the sequence: the workflow task retries until it is fixed) for an
        ESP event, which has no properties.
        """
        event_id = event.event_id if isinstance(event, TriggerRef) or event.is_business else None
        if event_id is None:
            raise ValueError("event_property() reads a business event's property (with its id)")
        if not isinstance(name, str) or not name:
            raise ValueError("event_property() needs a property name")
        self._raise_if_ended()
        result: EventPropertyResult = await workflow.execute_activity(
            EVENT_PROPERTY_ACTIVITY,
            EventPropertyInput(event_id=event_id, contact_id=self.input.contact_id, name=name),
            result_type=EventPropertyResult,
            start_to_close_timeout=EVENT_PROPERTY_START_TO_CLOSE,
            retry_policy=EVENT_PROPERTY_RETRY_POLICY,
            summary=f"event_property {name}",
        )
        # An exit that arrived while the activity ran (a goal, a reply) ends it here.
        self._raise_if_ended()
        return result.value

    def end(self, outcome: Outcome, reason: str | None = None) -> NoReturn:
        """End the enrollment now with `outcome` (for sequence-specific exits)."""
        self._end(outcome, reason)
        raise EnrollmentEnded(outcome)

    # --- signals and query (inherited by every subclass) ----------------------------------------

    @workflow.signal(name=EVENT_SIGNAL)
    def on_engagement_event(self, event: EngagementEvent) -> None:
        """Record an engagement event; a human reply, unsubscribe, complaint or hard bounce exits,
        and so does a business event in `goals` (`converted`) or `exit_on` (`exited`)."""
        if event.esp_event_id is not None:
            if event.esp_event_id in self._esp_event_ids:
                return
            self._esp_event_ids.add(event.esp_event_id)
        self._events.append(event)
        # Out of office: hold sends until they are back (the latest stated return wins).
        if (
            event.kind == EventKind.REPLY
            and event.auto_reply
            and event.resume_at is not None
            and (self._paused_until is None or event.resume_at > self._paused_until)
        ):
            self._paused_until = event.resume_at
        outcome = exit_outcome(event)
        if outcome is not None:
            # No patch: a reply's intent (and with it an opt-out reply ending `unsubscribed`)
            # arrives only in signals sent by this release; recorded replies carry none and end
            # `replied` as before, with the same commands.
            self._end(
                outcome,
                f"{event.kind} event" if not event.is_opt_out else "opt-out reply",
                reply_intent=event.reply_intent if event.is_human_reply else None,
            )
        # No patch: the signal could not carry a business event before this release (no kind
        # `business`), so no recorded history holds one that older code handled otherwise.
        outcome = business_outcome(event, self.goals, self.exit_on)
        if outcome is not None:
            reason = "goal" if outcome == Outcome.CONVERTED else "exit_on"
            self._end(outcome, f"{reason} {event.name}", event_name=event.name)

    @workflow.signal(name=EVENTS_SIGNAL)
    def on_engagement_events(self, events: list[EngagementEvent]) -> None:
        """Record several events in their order, each as `on_engagement_event` would."""
        for event in events:
            self.on_engagement_event(event)

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self, reason: str | None = None) -> None:
        """End the enrollment with outcome `cancelled` (ops cancelled it)."""
        self._end(Outcome.CANCELLED, reason or "cancelled by signal")

    @workflow.signal(name=PAUSE_SIGNAL)
    def pause(self) -> None:
        """Hold every send until `resume` (waits keep counting, so resuming keeps their ends)."""
        self._ops_paused = True

    @workflow.signal(name=RESUME_SIGNAL)
    def resume(self) -> None:
        self._ops_paused = False

    @workflow.signal(name=SENDER_RESUMED_SIGNAL)
    def on_sender_resumed(self) -> None:
        """A sender was resumed: a step waiting on a paused sender tries again now."""
        self._nudges += 1

    @workflow.signal(name=AB_DECIDED_SIGNAL)
    def on_ab_decided(self) -> None:
        """The cohort's A/B winner is decided: a step waiting for it sends now."""
        self._nudges += 1

    @workflow.query(name=STATE_QUERY)
    def state(self) -> EnrollmentState:
        """Where the enrollment is: current step, status, outcome, steps sent, events seen."""
        return EnrollmentState(
            sequence=self.name,
            contact_id=self.input.contact_id,
            cohort_id=self.input.cohort_id,
            current_step=self._current_step,
            status=self._status,
            outcome=self._outcome,
            steps_sent=list(self._steps_sent),
            events_seen=list(self._events),
            paused_until=self._paused_until,
            paused_by_ops=self._ops_paused,
            goal=self._outcome_event if self._outcome == Outcome.CONVERTED else None,
            exit_event=self._outcome_event if self._outcome == Outcome.EXITED else None,
            reply_intent=self._reply_intent,
        )

    # --- internals ------------------------------------------------------------------------------

    def _parse_params(self, input: EnrollmentInput) -> P:
        try:
            return cast(P, self.params_model.model_validate(input.params))
        except ValidationError as err:
            raise ApplicationError(
                f"invalid params for sequence {self.name}: {err}",
                type="InvalidParams",
                non_retryable=True,
            ) from None

    def _end(
        self,
        outcome: Outcome,
        reason: str | None,
        *,
        event_name: str | None = None,
        reply_intent: ReplyIntent | None = None,
    ) -> None:
        """Set the exit outcome (and the business event or reply intent that caused it); the
        first exit wins."""
        if self._outcome is None:
            self._outcome = outcome
            self._reason = reason
            self._outcome_event = event_name
            self._reply_intent = reply_intent
            workflow.logger.info(
                "enrollment exits", extra={"outcome": str(outcome), "reason": reason}
            )

    def _raise_if_ended(self) -> None:
        if self._outcome is not None:
            raise EnrollmentEnded(self._outcome)

    def _on_send_failed(self, step: str, err: ActivityError) -> NoReturn:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in _SEND_BLOCKED_OUTCOMES:
            self.end(_SEND_BLOCKED_OUTCOMES[cause.type], f"{cause.type} at step {step}")
        raise err

    async def _wait_until(
        self, condition: Callable[[], bool], limit: timedelta | None, *, summary: str
    ) -> None:
        """Wait for `condition` or an exit, at most `limit`; status `waiting` meanwhile."""
        self._set_status(EnrollmentStatus.WAITING)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._outcome is not None or condition(),
                timeout=limit,
                timeout_summary=summary,
            )
        self._status = EnrollmentStatus.RUNNING

    async def _wait_for_send_window(self) -> None:
        """Hold a send until the contact's next send window (local business hours, no holidays)."""
        calendar = self.input.calendar
        if calendar is None or not workflow.patched("send-windows"):
            return
        send_at = next_send_time(workflow.now(), calendar, self.send_window)
        if send_at > workflow.now():
            await self._wait_until(lambda: False, send_at - workflow.now(), summary="send window")
            self._raise_if_ended()

    async def _wait_out_deferral(self, err: ActivityError) -> bool:
        """A send the activity deferred (quota full, sender paused, A/B winner not decided):
        wait, then say retry.

        False if `err` is not a deferral. An exit during the wait ends the enrollment.
        """
        cause = err.cause
        if not isinstance(cause, ApplicationError) or cause.type not in _DEFERRALS:
            return False
        retry_at = _deferral_time(cause)
        if cause.type == QuotaExhausted.__name__ and retry_at is not None:
            self._set_status(EnrollmentStatus.WAITING_FOR_QUOTA)
            limit = max(retry_at - workflow.now(), timedelta(seconds=1))
        elif cause.type == WinnerPending.__name__:
            self._set_status(EnrollmentStatus.WAITING_FOR_WINNER)
            limit = WINNER_RECHECK
        else:
            self._set_status(EnrollmentStatus.SENDER_PAUSED)
            limit = SENDER_PAUSED_RECHECK
        nudges = self._nudges
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._outcome is not None or self._nudges != nudges,
                timeout=limit,
                timeout_summary=f"deferred: {cause.type}",
            )
        self._raise_if_ended()
        return True

    async def _hold_while_paused(self) -> None:
        """Before a send: wait while ops hold the enrollment, then out an out-of-office pause
        (which may grow while we wait)."""
        if self._ops_paused:
            self._set_status(EnrollmentStatus.PAUSED)
            await workflow.wait_condition(lambda: self._outcome is not None or not self._ops_paused)
            self._raise_if_ended()
        while self._paused_until is not None and workflow.now() < self._paused_until:
            remaining = self._paused_until - workflow.now()
            self._set_status(EnrollmentStatus.PAUSED)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._outcome is not None,
                    timeout=remaining,
                    timeout_summary="out of office",
                )
            self._raise_if_ended()
        self._status = EnrollmentStatus.RUNNING

    def _set_status(self, status: EnrollmentStatus) -> None:
        self._status = status
        self._set_search_attributes((sa.STATUS, self._shown_status(status)))

    def _shown_status(self, status: EnrollmentStatus) -> str:
        """The `NurtureStatus` value for `status`: with the sparse scheme, the normal flow
        (sending, waiting) shows as `running` and the end as the outcome."""
        if not self._sparse_status:
            return status.value
        if status in _NORMAL_FLOW:
            return EnrollmentStatus.RUNNING.value
        if status == EnrollmentStatus.ENDED and self._outcome is not None:
            return self._outcome.value
        return status.value

    def _set_search_attributes(self, *pairs: tuple[SearchAttributeKey[str], str | None]) -> None:
        """Upsert the keyword attributes that changed (each upsert is a history event)."""
        updates = []
        for key, value in pairs:
            if value is None or self._search_attributes.get(key.name) == value:
                continue
            self._search_attributes[key.name] = str(value)
            updates.append(key.value_set(str(value)))
        if updates:
            workflow.upsert_search_attributes(updates)


def _time_until(instant: datetime) -> timedelta:
    """From now (workflow time) to `instant`; negative if it has passed."""
    if instant.tzinfo is None:
        # A bug in the sequence: the workflow task fails and retries until the code is fixed.
        raise ValueError(f"until= needs an aware datetime (workflow.now() is UTC), not {instant}")
    return instant - workflow.now()


def _deferral_time(cause: ApplicationError) -> datetime | None:
    """The retry time a deferred send carries as its first detail (ISO 8601), if any."""
    if not cause.details or not isinstance(cause.details[0], str):
        return None
    try:
        return datetime.fromisoformat(cause.details[0])
    except ValueError:
        return None


def _describe(duration: timedelta) -> str:
    """A short label for a timer: `2d`, `4h30m`, `90s`."""
    seconds = int(duration.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"


__all__ = [
    "CANCEL_SIGNAL",
    "EVENT_PROPERTY_RETRY_POLICY",
    "EVENT_PROPERTY_START_TO_CLOSE",
    "FINISH_RETRY_POLICY",
    "SEND_HEARTBEAT_TIMEOUT",
    "SEND_RETRY_POLICY",
    "SEND_START_TO_CLOSE",
    "EnrollmentEnded",
    "EventKinds",
    "NoParams",
    "SequenceWorkflow",
    "Step",
    "business_outcome",
    "exit_outcome",
    "matches",
    "sequence",
    "split_wanted",
]
