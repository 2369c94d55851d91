"""nurture's exception hierarchy. Activities raise these; the ones marked permanent become
non-retryable `ApplicationError`s whose `type` is the class name, and workflows branch on it.

    NurtureError
    ├── SendBlocked                 permanent: this contact must not be mailed
    │   ├── ConsentMissing          no consent on record
    │   ├── ConsentWithdrawn        consent was withdrawn (unsubscribe)
    │   └── ContactSuppressed       on the suppression list (bounce, complaint, erase)
    ├── ContactNotFound             permanent: no such contact (erased?)
    ├── SenderNotFound              permanent: no such sending identity
    ├── SendDeferred                not now: the workflow waits, then sends the step
    │   ├── QuotaExhausted          the sender's day, a recipient domain's hour, or the contact's week is full
    │   └── SenderPaused            the sender is paused (health, or by ops)
    ├── TemplateError               permanent: a template is missing or does not render
    ├── InvalidInput                bad input at a boundary (CLI, API, import); says which field
    │   ├── MalformedPayload        a webhook body that is not what the ESP sends (not a JSON array)
    │   └── MalformedInbound        an inbound email with neither a usable sender nor a recipient
    ├── InvalidSignature            permanent: a signed webhook failed verification; `problem` says which check
    ├── EnrollmentConflict          the contact already has a live enrollment in that sequence
    ├── DnsError                    a DNS lookup gave no usable answer (sending-domain checks)
    │   ├── NoDomain                the name does not exist (NXDOMAIN)
    │   ├── NoRecords               the name exists but has no record of that type
    │   └── DnsUnavailable          no answer at all: timeout, or no name server would answer
    └── EspError                    the ESP answered badly or not at all
        ├── EspRejected             permanent: 400/401/403/413 — the request must change
        ├── EspRateLimited          retry after the reset time it states (429)
        └── EspUnavailable          retry: 5xx or a network error
"""

from __future__ import annotations

from datetime import datetime


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


class ContactNotFound(NurtureError):
    permanent = True


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


class SenderNotFound(NurtureError):
    permanent = True


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


class InvalidSignature(NurtureError):
    """A signed webhook request failed verification. `problem` is a short, stable code for
    metrics and logs; the message says what failed and never echoes a key or a signature."""

    permanent = True

    def __init__(self, message: str, *, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


class EnrollmentConflict(NurtureError):
    pass


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


__all__ = [
    "ConsentMissing",
    "ConsentWithdrawn",
    "ContactNotFound",
    "ContactSuppressed",
    "DnsError",
    "DnsUnavailable",
    "EnrollmentConflict",
    "EspError",
    "EspRateLimited",
    "EspRejected",
    "EspUnavailable",
    "InvalidInput",
    "InvalidSignature",
    "MalformedInbound",
    "MalformedPayload",
    "NoDomain",
    "NoRecords",
    "NurtureError",
    "QuotaExhausted",
    "SendBlocked",
    "SendDeferred",
    "SenderNotFound",
    "SenderPaused",
    "TemplateError",
]
