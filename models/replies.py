"""Reply intents: what a human reply asks for, as the classifier decides it and as the rest of
nurture acts on it (docs/architecture.md, "Replies").

The classification (intent, confidence, the cue that decided it) is stored in SQL with the
reply; only the intent's label ever enters a workflow. A deployment may swap the default
rule-based classifier for its own (a model, a service) through `ReplyClassifier`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class ReplyIntent(StrEnum):
    """What a reply means for the sequence and for the people selling."""

    INTERESTED = "interested"  # price, quotation, samples, catalogue, MOQ, a call, a meeting
    NOT_INTERESTED = "not_interested"  # a polite or blunt no
    OPT_OUT = "opt_out"  # remove me / unsubscribe / stop emailing: an unsubscribe
    WRONG_PERSON = "wrong_person"  # left the company, not responsible (maybe names who is)
    NEUTRAL = "neutral"  # anything else: thanks, a question, another language
    AUTO_REPLY = "auto_reply"  # out-of-office and other automatic answers (not classified)


#: Intents a person is told about (the outgoing notification webhook).
NOTIFIED_INTENTS = frozenset({ReplyIntent.INTERESTED, ReplyIntent.WRONG_PERSON})


class Classification(BaseModel):
    """One reply's intent and why. `cue` is the vocabulary phrase (or rule) that decided it,
    never a copy of the reply; `referred_email` is an address a `wrong_person` reply names."""

    model_config = ConfigDict(frozen=True)

    intent: ReplyIntent
    confidence: float = Field(ge=0.0, le=1.0)
    cue: str | None = Field(None, max_length=200)
    language: str | None = Field(None, description="ISO 639-1 code of the cue's language.")
    referred_email: str | None = None


class ReplyClassifier(Protocol):
    """Anything that turns a reply's new text (quoted history, signature and disclaimer already
    removed) into a `Classification`. Must not raise on any input and needs no network by
    default; `NURTURE_REPLY_CLASSIFIER=package.module:callable` selects another one."""

    def __call__(self, text: str, *, subject: str = "") -> Classification: ...


__all__ = ["NOTIFIED_INTENTS", "Classification", "ReplyClassifier", "ReplyIntent"]
