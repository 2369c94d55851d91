"""nurture's exception hierarchy. Activities raise these; the ones marked permanent become
non-retryable `ApplicationError`s whose `type` is the class name, and workflows branch on it.

    NurtureError
    ├── SendBlocked                 permanent: this contact must not be mailed
    │   ├── ConsentMissing          no consent on record
    │   ├── ConsentWithdrawn        consent was withdrawn (unsubscribe)
    │   └── ContactSuppressed       on the suppression list (bounce, complaint, erase)
    ├── ContactNotFound             permanent: no such contact (erased?)
    ├── SenderNotFound              permanent: no such sending identity
    ├── TemplateError               permanent: a template is missing or does not render
    ├── InvalidInput                bad input at a boundary (CLI, API, import); says which field
    │   ├── MalformedPayload        a webhook body that is not what the ESP sends (not a JSON array)
    │   └── MalformedInbound        an inbound email with neither a usable sender nor a recipient
    ├── InvalidSignature            permanent: a signed webhook failed verification; `problem` says which check
    ├── EnrollmentConflict          the contact already has a live enrollment in that sequence
    └── EspError                    the ESP answered badly or not at all
        ├── EspRejected             permanent: 400/401/403/413 — the request must change
        ├── EspRateLimited          retry after the reset time it states (429)
        └── EspUnavailable          retry: 5xx or a network error
"""

from __future__ import annotations


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
    "EnrollmentConflict",
    "EspError",
    "EspRateLimited",
    "EspRejected",
    "EspUnavailable",
    "InvalidInput",
    "InvalidSignature",
    "MalformedInbound",
    "MalformedPayload",
    "NurtureError",
    "SendBlocked",
    "SenderNotFound",
    "TemplateError",
]
