"""nurture's exception hierarchy. Activities raise these; the ones marked permanent become
non-retryable `ApplicationError`s whose `type` is the class name, and workflows branch on it.

    NurtureError
    ├── SendBlocked                 permanent: this contact must not be mailed
    │   ├── ConsentMissing          no consent on record
    │   ├── ConsentWithdrawn        consent was withdrawn (unsubscribe)
    │   └── ContactSuppressed       on the suppression list (bounce, complaint, erase)
    ├── NotFound (LookupError)      permanent: what the caller named does not exist
    │   ├── ContactNotFound         no such contact (never held, or erased)
    │   ├── SenderNotFound          no such sending identity
    │   ├── CohortNotFound          no such cohort
    │   ├── SequenceNotFound        no sequence of that name
    │   ├── EnrollmentNotFound      no enrollment with that workflow id
    │   ├── ReplyNotFound           no stored reply with that id
    │   └── UnknownUnsubscribeToken an unsubscribe link that names no message we sent
    ├── SendDeferred                not now: the workflow waits, then sends the step
    │   ├── QuotaExhausted          the sender's day, a recipient domain's hour, or the contact's week is full
    │   ├── SenderPaused            the sender is paused (health, or by ops)
    │   └── WinnerPending           the step is A/B-tested and the winner is not decided yet
    ├── TemplateError               permanent: a template is missing or does not render
    ├── InvalidInput                bad input at a boundary (CLI, API, import); says which field
    │   ├── MalformedPayload        a webhook body that is not what the ESP sends (not a JSON array)
    │   ├── MalformedInbound        an inbound email with neither a usable sender nor a recipient
    │   └── ContentLintFailed       a cohort's templates have content-lint errors
    ├── InvalidSignature            permanent: a signed webhook failed verification; `problem` says which check
    ├── InvalidToken (ValueError)   permanent: a signed link token is malformed or forged
    ├── RateLimited                 one client address made too many attempts; `retry_after` seconds
    ├── SequenceLoadError (ValueError) a NURTURE_SEQUENCES module does not import, holds no
    │                               sequence, or reuses a sequence's name (names the module)
    ├── Conflict                    the thing named is in a state that refuses the action
    │   ├── EnrollmentConflict      the contact already has a live enrollment in that sequence
    │   │   └── ReenrollmentRefused the sequence's re-enrollment rule refuses the contact (now)
    │   └── CohortCancelled         a cancelled cohort cannot be paused or resumed
    ├── DnsError                    a DNS lookup gave no usable answer (sending-domain checks)
    │   ├── NoDomain                the name does not exist (NXDOMAIN)
    │   ├── NoRecords               the name exists but has no record of that type
    │   └── DnsUnavailable          no answer at all: timeout, or no name server would answer
    └── EspError                    the ESP answered badly or not at all
        ├── EspRejected             permanent: 400/401/403/413 — the request must change
        ├── EspRateLimited          retry after the reset time it states (429)
        └── EspUnavailable          retry: 5xx or a network error

`permanent` is a class attribute: `permanent_error_types()` lists the `ApplicationError.type`s
that no retry can fix, so the workflow's retry policy and the activity's `non_retryable` flag
both derive from these classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class NurtureError(Exception):
    """Base of every error nurture raises on purpose."""

    #: Whether retrying the same call can ever succeed.
    permanent: bool = False


class SendBlocked(NurtureError):
    """The contact must not be mailed now."""

    permanent = True


class ConsentMissing(SendBlocked):
    """No consent on record for the contact."""


class ConsentWithdrawn(SendBlocked):
    """The contact withdrew consent."""


class ContactSuppressed(SendBlocked):
    """The address is on the suppression list."""


class NotFound(NurtureError, LookupError):
    """What the caller named does not exist."""

    permanent = True


class ContactNotFound(NotFound):
    """No contact with that id or address (never held, or already erased)."""


class SenderNotFound(NotFound):
    """No sending identity with that id."""


class CohortNotFound(NotFound):
    """No cohort with that id."""


class SequenceNotFound(NotFound):
    """No sequence registered under that name."""


class EnrollmentNotFound(NotFound):
    """No enrollment with that workflow id."""


class ReplyNotFound(NotFound):
    """No stored reply with that id."""


class UnknownUnsubscribeToken(NotFound):
    """An unsubscribe token that is forged, malformed or names no message we sent."""


class SendDeferred(NurtureError):
    """The step may not go now; `retry_at` (UTC) says when to try again, if known."""

    permanent = True  # for the activity: the workflow waits durably instead of retrying it

    def __init__(self, message: str, *, retry_at: datetime | None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class QuotaExhausted(SendDeferred):
    def __init__(self, message: str, *, retry_at: datetime, scope: str) -> None:
        super().__init__(message, retry_at=retry_at)
        self.scope = scope


class SenderPaused(SendDeferred):
    def __init__(self, message: str) -> None:
        super().__init__(message, retry_at=None)


class WinnerPending(SendDeferred):
    """The step is A/B-tested and this contact gets the winner, which is not decided yet."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_at=None)


class TemplateError(NurtureError):
    permanent = True


class InvalidInput(NurtureError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class MalformedPayload(InvalidInput):
    """A webhook body that cannot be what the ESP sends: not UTF-8, not JSON, not a JSON array."""


class MalformedInbound(InvalidInput):
    """An inbound email (Inbound Parse post) with neither a usable sender nor a usable recipient."""


class LintFinding(Protocol):
    """What `ContentLintFailed` needs of a content-lint finding."""

    @property
    def template(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def fix(self) -> str: ...


class ContentLintFailed(InvalidInput):
    """A cohort's templates have content-lint errors; `errors` holds each finding."""

    def __init__(self, errors: Sequence[LintFinding]) -> None:
        super().__init__(
            "sequence",
            "content lint errors: " + "; ".join(f"{f.template}: {f.message}" for f in errors),
        )
        self.errors = list(errors)


class InvalidSignature(NurtureError):
    """A signed webhook request failed verification. `problem` is a short, stable code for
    metrics and logs; the message says what failed and never echoes a key or a signature."""

    permanent = True

    def __init__(self, message: str, *, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


class InvalidToken(NurtureError, ValueError):
    """A signed token (unsubscribe, reply, opt-in link) is malformed or its signature does not
    match."""

    permanent = True


class RateLimited(NurtureError):
    """One client address used up its budget of attempts (the dashboard login, the links in
    emails); it has one again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests: retry after {retry_after} s")
        self.retry_after = retry_after


class SequenceLoadError(NurtureError, ValueError):
    """A module named in NURTURE_SEQUENCES cannot be imported, defines no sequence, or defines
    one whose name is taken; the message names the module."""


class Conflict(NurtureError):
    """The thing named is in a state that refuses the action."""


class EnrollmentConflict(Conflict):
    """The contact already has a live enrollment in that sequence (or, as `ReenrollmentRefused`,
    may not be re-enrolled yet)."""


class ReenrollmentRefused(EnrollmentConflict):
    """The contact's previous enrollment in the sequence ended, and the sequence's re-enrollment
    rule refuses another (never, or not yet): nothing is live, unlike its base class."""


class CohortCancelled(Conflict):
    """A cancelled cohort cannot be paused or resumed."""


class DnsError(NurtureError):
    """A DNS lookup of `rdtype` records at `name` gave no usable answer."""

    def __init__(self, name: str, rdtype: str, reason: str | None = None) -> None:
        super().__init__(f"{rdtype} {name}: {reason or self.__doc__}")
        self.name = name
        self.rdtype = rdtype


class NoDomain(DnsError):
    """The name does not exist (NXDOMAIN)."""


class NoRecords(DnsError):
    """The name exists but has no record of that type."""


class DnsUnavailable(DnsError):
    """No answer: the lookup timed out or no name server would answer."""


class EspError(NurtureError):
    """The ESP refused the call or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class EspRejected(EspError):
    permanent = True


class EspRateLimited(EspError):
    def __init__(self, message: str, *, retry_after_seconds: float, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after_seconds = retry_after_seconds


class EspUnavailable(EspError):
    def __init__(self, message: str, *, status: int | None = None, maybe_accepted: bool) -> None:
        super().__init__(message, status=status)
        #: True when the ESP may have taken the mail anyway (a timeout after the request left).
        self.maybe_accepted = maybe_accepted


def _subclasses(cls: type[NurtureError]) -> list[type[NurtureError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def permanent_error_types() -> tuple[str, ...]:
    """The `ApplicationError.type` (class name) of every permanent error: what a retry policy
    lists as non-retryable."""
    return tuple(sorted(c.__name__ for c in _subclasses(NurtureError) if c.permanent))


def deferral_error_types() -> frozenset[str]:
    """The `ApplicationError.type` of every `SendDeferred`: a send the workflow waits out."""
    return frozenset(c.__name__ for c in _subclasses(SendDeferred))


__all__ = [
    "CohortCancelled",
    "CohortNotFound",
    "Conflict",
    "ConsentMissing",
    "ConsentWithdrawn",
    "ContactNotFound",
    "ContactSuppressed",
    "ContentLintFailed",
    "DnsError",
    "DnsUnavailable",
    "EnrollmentConflict",
    "EnrollmentNotFound",
    "EspError",
    "EspRateLimited",
    "EspRejected",
    "EspUnavailable",
    "InvalidInput",
    "InvalidSignature",
    "InvalidToken",
    "LintFinding",
    "MalformedInbound",
    "MalformedPayload",
    "NoDomain",
    "NoRecords",
    "NotFound",
    "NurtureError",
    "QuotaExhausted",
    "RateLimited",
    "ReenrollmentRefused",
    "ReplyNotFound",
    "SendBlocked",
    "SendDeferred",
    "SenderNotFound",
    "SenderPaused",
    "SequenceLoadError",
    "SequenceNotFound",
    "TemplateError",
    "UnknownUnsubscribeToken",
    "WinnerPending",
    "deferral_error_types",
    "permanent_error_types",
]
