"""What happens to each mail the simulator accepts: per-step probabilities, delays and presets.

A `Scenario` is plain data (loadable from JSON); a `Planner` turns one received mail into a
reproducible plan of SendGrid events and inbound replies, which `simulator.webhooks` plays back.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.store import ReceivedMessage

__all__ = [
    "PRESETS",
    "BounceKind",
    "Delays",
    "EventType",
    "Plan",
    "PlannedEvent",
    "PlannedReply",
    "Planner",
    "Scenario",
    "StepRates",
    "event_details",
    "links_in",
    "load_scenario",
    "step_key",
]

Probability = float


class EventType(StrEnum):
    """SendGrid Event Webhook event names."""

    PROCESSED = "processed"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCE = "bounce"
    DROPPED = "dropped"
    OPEN = "open"
    CLICK = "click"
    SPAMREPORT = "spamreport"
    UNSUBSCRIBE = "unsubscribe"
    GROUP_UNSUBSCRIBE = "group_unsubscribe"


class BounceKind(StrEnum):
    """Which bounce a `bounce` event reports: hard (5.1.1), soft (4.x after deferrals), block."""

    HARD = "hard"
    SOFT = "soft"
    BLOCK = "block"


def _probability() -> Any:
    return Field(0.0, ge=0.0, le=1.0)


class StepRates(BaseModel):
    """Probabilities for one step's mails.

    Delivery outcomes are shares of all mails and are exclusive; what is left is delivered:
    `hard_bounce`, `block` and `dropped` never deliver; `soft_bounce` is deferred then bounces;
    `deferred` is deferred then delivered; `delayed_bounce` is delivered, then an asynchronous
    bounce arrives without custom args or categories (as SendGrid reports late DSNs).
    Engagement rates are shares of delivered mails; `click` (a human click) implies a human
    open, so it may not exceed `open`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    hard_bounce: Probability = _probability()
    soft_bounce: Probability = _probability()
    block: Probability = _probability()
    dropped: Probability = _probability()
    deferred: Probability = _probability()
    delayed_bounce: Probability = _probability()
    open: Probability = _probability()
    machine_open: Probability = _probability()
    click: Probability = _probability()
    reply: Probability = _probability()
    auto_reply: Probability = _probability()
    complaint: Probability = _probability()
    unsubscribe: Probability = _probability()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        outcomes = (
            self.hard_bounce
            + self.soft_bounce
            + self.block
            + self.dropped
            + self.deferred
            + self.delayed_bounce
        )
        if outcomes > 1.0 + 1e-9:
            raise ValueError(f"delivery outcomes sum to {outcomes:.4f}, more than 1")
        if self.click > self.open + 1e-12:
            raise ValueError("click may not exceed open: a human click needs a human open")
        return self

    @property
    def delivered(self) -> float:
        """Share of mails that get a `delivered` event (after deferrals or before a late bounce)."""
        return 1.0 - (self.hard_bounce + self.soft_bounce + self.block + self.dropped)


DelayRange = tuple[float, float]


class Delays(BaseModel):
    """Seconds (min, max, drawn uniformly) between a mail's send and its events.

    `delivered`, `bounce`, `dropped` count from the send (after any deferrals); `deferred` is
    the interval between deferral attempts; `click` counts from the human open; the rest count
    from delivery.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    processed: DelayRange = (0.0, 0.5)
    delivered: DelayRange = (1.0, 5.0)
    deferred: DelayRange = (5.0, 30.0)
    bounce: DelayRange = (1.0, 10.0)
    dropped: DelayRange = (0.0, 1.0)
    delayed_bounce: DelayRange = (30.0, 300.0)
    machine_open: DelayRange = (1.0, 30.0)
    open: DelayRange = (10.0, 600.0)
    click: DelayRange = (2.0, 120.0)
    reply: DelayRange = (60.0, 1800.0)
    auto_reply: DelayRange = (5.0, 60.0)
    complaint: DelayRange = (60.0, 1800.0)
    unsubscribe: DelayRange = (30.0, 900.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for name, (low, high) in self:
            if not 0 <= low <= high:
                raise ValueError(f"delays.{name} must be [min, max] with 0 <= min <= max")
        return self


class Scenario(BaseModel):
    """A whole simulated audience: rates per step (else `default`), delays, transport quirks.

    `steps` is keyed by the category `"sequence/step"` or by the bare step name. With
    `automatic` false nothing happens on its own: only scripted events (`POST /_sim/events`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    seed: int | None = None
    automatic: bool = True
    default: StepRates = StepRates()
    steps: dict[str, StepRates] = {}
    delays: Delays = Delays()
    deferred_attempts: tuple[int, int] = (1, 3)
    duplicate: Probability = _probability()
    """Chance that an event is posted again in a later batch (SendGrid is at-least-once)."""
    reorder: Probability = _probability()
    """Chance that a batch's events are posted out of order."""
    inbound_raw_share: Probability = _probability()
    """Share of inbound replies posted raw (the full MIME message in `email`), not parsed."""

    @model_validator(mode="after")
    def _attempts(self) -> Self:
        low, high = self.deferred_attempts
        if not 1 <= low <= high:
            raise ValueError("deferred_attempts must be [min, max] with 1 <= min <= max")
        return self

    def rates_for(self, message: ReceivedMessage) -> StepRates:
        """The rates of the message's step: by `sequence/step`, then bare step, then default."""
        key = step_key(message.categories)
        if key is not None:
            if key in self.steps:
                return self.steps[key]
            bare = key.rsplit("/", 1)[-1]
            if bare in self.steps:
                return self.steps[bare]
        return self.default


def step_key(categories: list[str]) -> str | None:
    """The `sequence/step` category nurture sets, if any."""
    return next((c for c in categories if "/" in c), None)


class PlannedEvent(BaseModel):
    """One Event Webhook event, `after_seconds` after the send."""

    model_config = ConfigDict(frozen=True)

    after_seconds: float
    event: EventType
    fields: dict[str, Any] = {}
    """Event-specific fields (reason, status, useragent, url...)."""
    detached: bool = False
    """Posted without custom args and categories, like SendGrid's asynchronous bounces."""


class PlannedReply(BaseModel):
    """One inbound reply, `after_seconds` after the send."""

    model_config = ConfigDict(frozen=True)

    after_seconds: float
    auto: bool = False
    raw: bool = False
    text: str | None = None
    """The human reply's text; None for an auto-reply (its return date is set when posted)."""


Plan = list[PlannedEvent | PlannedReply]

# -- what the events say ------------------------------------------------------------------

_SENDING_IP = "149.72.0.25"

_BOUNCES: dict[BounceKind, dict[str, str]] = {
    BounceKind.HARD: {
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist. "
        "Please try double-checking the recipient's email address for typos.",
        "bounce_classification": "Invalid Address",
    },
    BounceKind.SOFT: {
        "type": "bounce",
        "status": "4.2.2",
        "reason": "452 4.2.2 The email account that you tried to reach is over quota.",
        "bounce_classification": "Mailbox Unavailable",
    },
    BounceKind.BLOCK: {
        "type": "blocked",
        "status": "5.7.1",
        "reason": f"550 5.7.1 Service unavailable; client host [{_SENDING_IP}] blocked "
        "by the recipient's policy.",
        "bounce_classification": "Reputation",
    },
}

_DEFERRALS: dict[BounceKind, str] = {
    BounceKind.SOFT: "452 4.2.2 The email account that you tried to reach is over quota.",
    BounceKind.HARD: "421 4.7.0 Try again later, closing connection.",
}

_HUMAN_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
)
_MACHINE_AGENT = "Mozilla/5.0"

#: What human replies say: the intents nurture classifies (interested, not interested, opt-out,
#: wrong person, neutral), in the buyers' languages, so a demo's inbox shows each.
_REPLIES = (
    "Thanks for reaching out. Could you send me your price list and lead times?",
    "Interesting. Can we set up a short call next week?",
    "Please send more details about minimum order quantities.",
    "We already have a supplier, but send me a quote and I will compare.",
    "Not the right person - please contact our purchasing team instead.",
    "Kein Interesse, wir haben bereits einen Lieferanten. Danke.",
    "Please remove me from your mailing list.",
    "Merci, bien reçu. Je transmets à mon collègue.",
    "请发一份报价单和样品价格。",
    "No nos interesa por el momento, gracias.",
)

_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"')]+")
_FALLBACK_URL = "https://www.example.com/"


def links_in(message: ReceivedMessage) -> list[str]:
    """The http(s) links a recipient could click (HTML first, else text), unsubscribe excluded."""
    found = _HREF.findall(message.html or "") or _URL.findall(message.text or "")
    unsubscribe = {
        value.strip("<>")
        for key, value in message.headers.items()
        if key.lower() == "list-unsubscribe"
    }
    return [
        url
        for url in dict.fromkeys(found)
        if url.startswith(("http://", "https://"))
        and url not in unsubscribe
        and "unsubscribe" not in url.lower()
        and "/u/" not in url
    ]


def event_details(
    event: EventType,
    rng: random.Random,
    *,
    bounce: BounceKind = BounceKind.HARD,
    machine: bool = False,
    attempt: int = 1,
    links: list[str] | None = None,
) -> dict[str, Any]:
    """The type-specific fields SendGrid sends with `event` (ids, timestamps and args aside)."""
    match event:
        case EventType.DELIVERED:
            return {
                "response": f"250 2.0.0 OK {rng.randrange(10**9, 2 * 10**9)} sim.{rng.randrange(10**6)} - gsmtp",
                "ip": _SENDING_IP,
                "tls": 1,
            }
        case EventType.DEFERRED:
            return {
                "response": _DEFERRALS[
                    BounceKind.SOFT if bounce == BounceKind.SOFT else BounceKind.HARD
                ],
                "attempt": str(attempt),
                "ip": _SENDING_IP,
                "tls": 1,
            }
        case EventType.BOUNCE:
            return {**_BOUNCES[bounce], "ip": _SENDING_IP, "tls": 1}
        case EventType.DROPPED:
            return {"reason": "Bounced Address", "status": "5.0.0"}
        case EventType.OPEN:
            return {
                "useragent": _MACHINE_AGENT if machine else rng.choice(_HUMAN_AGENTS),
                "ip": _machine_ip(rng) if machine else _human_ip(rng),
                "sg_machine_open": machine,
            }
        case EventType.CLICK:
            urls = links or [_FALLBACK_URL]
            index = rng.randrange(len(urls))
            return {
                "url": urls[index],
                "url_offset": {"index": index, "type": "html"},
                "useragent": rng.choice(_HUMAN_AGENTS),
                "ip": _human_ip(rng),
            }
        case EventType.GROUP_UNSUBSCRIBE:
            return {
                "asm_group_id": 1,
                "useragent": rng.choice(_HUMAN_AGENTS),
                "ip": _human_ip(rng),
                "url": _FALLBACK_URL,
            }
        case _:
            return {}


def _human_ip(rng: random.Random) -> str:
    return f"203.0.113.{rng.randrange(1, 255)}"  # TEST-NET-3: never a real person


def _machine_ip(rng: random.Random) -> str:
    return f"17.58.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"  # Apple's proxy range


# -- planning ------------------------------------------------------------------------------


class Planner:
    """Plans each mail's events from a scenario and a seed; thread-safe.

    Each plan draws from its own generator, seeded by (seed, recipient, step, subject, how many
    such mails came before), so the same seed and the same mails give the same plans whatever
    order they arrive in.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        self.scenario = scenario
        if seed is None:
            seed = scenario.seed if scenario.seed is not None else secrets.randbits(32)
        self.seed: int = seed
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget how many mails were seen, so a replay after a reset plans the same again."""
        with self._lock:
            self._seen.clear()

    def plan(self, message: ReceivedMessage) -> Plan:
        """What happens to `message`, sorted by time; empty unless the scenario is automatic."""
        if not self.scenario.automatic:
            return []
        identity = "|".join(
            (message.recipient.casefold(), step_key(message.categories) or "", message.subject)
        )
        with self._lock:
            occurrence = self._seen[identity]
            self._seen[identity] += 1
        rng = random.Random(f"{self.seed}|{identity}|{occurrence}")
        plan = _plan_one(self.scenario, self.scenario.rates_for(message), message, rng)
        return sorted(plan, key=lambda item: item.after_seconds)


def _plan_one(
    scenario: Scenario, rates: StepRates, message: ReceivedMessage, rng: random.Random
) -> Plan:
    delays = scenario.delays

    def after(window: DelayRange, start: float = 0.0) -> float:
        return start + rng.uniform(*window)

    def event(at: float, kind: EventType, **details: Any) -> PlannedEvent:
        detached = details.pop("detached", False)
        return PlannedEvent(
            after_seconds=round(at, 3),
            event=kind,
            fields=event_details(kind, rng, **details),
            detached=detached,
        )

    processed_at = after(delays.processed)
    plan: Plan = [event(processed_at, EventType.PROCESSED)]
    outcome = _draw_outcome(rates, rng)

    if outcome == "dropped":
        plan[0] = event(after(delays.dropped), EventType.DROPPED)  # dropped mails are not processed
        return plan
    if outcome in ("hard_bounce", "block"):
        kind = BounceKind.HARD if outcome == "hard_bounce" else BounceKind.BLOCK
        plan.append(event(after(delays.bounce, processed_at), EventType.BOUNCE, bounce=kind))
        return plan

    at = processed_at
    if outcome in ("soft_bounce", "deferred"):
        kind = BounceKind.SOFT if outcome == "soft_bounce" else BounceKind.HARD
        for attempt in range(1, rng.randint(*scenario.deferred_attempts) + 1):
            at = after(delays.deferred, at)
            plan.append(event(at, EventType.DEFERRED, bounce=kind, attempt=attempt))
        if outcome == "soft_bounce":
            plan.append(event(after(delays.bounce, at), EventType.BOUNCE, bounce=BounceKind.SOFT))
            return plan

    delivered_at = after(delays.delivered, at)
    plan.append(event(delivered_at, EventType.DELIVERED))
    if outcome == "delayed_bounce":
        plan.append(
            event(
                after(delays.delayed_bounce, delivered_at),
                EventType.BOUNCE,
                bounce=BounceKind.HARD,
                detached=True,
            )
        )
        return plan

    plan.extend(_plan_engagement(scenario, rates, message, rng, delivered_at, after, event))
    return plan


def _plan_engagement(
    scenario: Scenario,
    rates: StepRates,
    message: ReceivedMessage,
    rng: random.Random,
    delivered_at: float,
    after: Callable[..., float],
    event: Callable[..., PlannedEvent],
) -> Plan:
    """What the recipient does with a delivered mail: opens, clicks, replies, complaints."""
    delays = scenario.delays
    plan: Plan = []
    # Engagement: one draw each, in a fixed order, so plans stay reproducible.
    draws = {
        name: rng.random()
        for name in (
            "machine_open",
            "open",
            "click",
            "reply",
            "auto_reply",
            "complaint",
            "unsubscribe",
        )
    }
    if draws["machine_open"] < rates.machine_open:
        plan.append(event(after(delays.machine_open, delivered_at), EventType.OPEN, machine=True))
    if draws["open"] < rates.open:
        opened_at = after(delays.open, delivered_at)
        plan.append(event(opened_at, EventType.OPEN))
        # click is a share of delivered mails, drawn among the human opens.
        if rates.open > 0 and draws["click"] < rates.click / rates.open:
            plan.append(
                event(after(delays.click, opened_at), EventType.CLICK, links=links_in(message))
            )
    if draws["reply"] < rates.reply:
        plan.append(
            PlannedReply(
                after_seconds=round(after(delays.reply, delivered_at), 3),
                raw=rng.random() < scenario.inbound_raw_share,
                text=rng.choice(_REPLIES),
            )
        )
    if draws["auto_reply"] < rates.auto_reply:
        plan.append(
            PlannedReply(
                after_seconds=round(after(delays.auto_reply, delivered_at), 3),
                auto=True,
                raw=rng.random() < scenario.inbound_raw_share,
            )
        )
    if draws["complaint"] < rates.complaint:
        plan.append(event(after(delays.complaint, delivered_at), EventType.SPAMREPORT))
    if draws["unsubscribe"] < rates.unsubscribe:
        plan.append(event(after(delays.unsubscribe, delivered_at), EventType.UNSUBSCRIBE))
    return plan


_OUTCOMES = ("hard_bounce", "soft_bounce", "block", "dropped", "deferred", "delayed_bounce")


def _draw_outcome(rates: StepRates, rng: random.Random) -> str:
    draw = rng.random()
    for name in _OUTCOMES:
        share: float = getattr(rates, name)
        if draw < share:
            return name
        draw -= share
    return "delivered"


# -- presets -------------------------------------------------------------------------------

PRESETS: dict[str, Scenario] = {
    # Nothing on its own: tests script every event through `POST /_sim/events`.
    "scripted": Scenario(name="scripted", automatic=False),
    # Every mail is processed and delivered, nothing more.
    "quiet": Scenario(name="quiet"),
    # A realistic B2B cold-outreach funnel (engagement rates are shares of delivered mails).
    "default": Scenario(
        name="default",
        default=StepRates(
            hard_bounce=0.01,
            soft_bounce=0.01,
            block=0.005,
            deferred=0.02,
            delayed_bounce=0.005,
            open=0.25,
            machine_open=0.20,
            click=0.05,
            reply=0.03,
            auto_reply=0.02,
            complaint=0.002,
            unsubscribe=0.005,
        ),
        duplicate=0.01,
        reorder=0.2,
        inbound_raw_share=0.2,
    ),
    # High rates and short delays, so a demo cohort visibly moves within a minute or two.
    "lively": Scenario(
        name="lively",
        default=StepRates(
            hard_bounce=0.03,
            soft_bounce=0.02,
            block=0.01,
            deferred=0.05,
            delayed_bounce=0.02,
            open=0.6,
            machine_open=0.3,
            click=0.3,
            reply=0.15,
            auto_reply=0.05,
            complaint=0.01,
            unsubscribe=0.03,
        ),
        delays=Delays(
            delivered=(0.5, 2.0),
            deferred=(1.0, 5.0),
            bounce=(0.5, 3.0),
            delayed_bounce=(5.0, 20.0),
            machine_open=(0.5, 5.0),
            open=(2.0, 30.0),
            click=(1.0, 15.0),
            reply=(5.0, 60.0),
            auto_reply=(1.0, 10.0),
            complaint=(5.0, 60.0),
            unsubscribe=(5.0, 60.0),
        ),
        duplicate=0.05,
        reorder=0.3,
        inbound_raw_share=0.3,
    ),
}


def load_scenario(spec: str | Path) -> Scenario:
    """A preset by name (`scripted`, `quiet`, `default`, `lively`) or a JSON file by path."""
    if isinstance(spec, str) and spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if not path.is_file():
        raise ValueError(
            f"unknown scenario {str(spec)!r}: not a preset ({', '.join(PRESETS)}) nor a file"
        )
    return Scenario.model_validate_json(path.read_text(encoding="utf-8"))
