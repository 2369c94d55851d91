"""Reply intents: the default rule-based classifier over the `cues` vocabulary and the `families`
of stems (`classify_reply`, a `models.replies.ReplyClassifier`), the opt-in variant with the
statistical backstop of `model` (`classify_with_backstop`), `classify_raw` that extracts a body's
new text and classifies it without ever raising, and `load_classifier` for
NURTURE_REPLY_CLASSIFIER."""

from __future__ import annotations

import importlib
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import structlog
from email_validator import EmailNotValidError, validate_email

from activities.replies.cues import (
    ALL_CUES,
    Cue,
    fold,
    is_address_change,
    is_instruction,
    is_negated,
)
from activities.replies.extraction import reply_body
from activities.replies.families import FAMILY_CUES
from activities.replies.model import IntentModel, default_model
from models.replies import Classification, ReplyClassifier, ReplyIntent

__all__ = [
    "CLASSIFIER_ERROR_CUE",
    "CLASSIFY_MAX_CHARS",
    "OPT_OUT_PRECEDENCE",
    "SUBJECT_WEIGHT",
    "classify_new_text",
    "classify_raw",
    "classify_reply",
    "classify_with",
    "classify_with_backstop",
    "load_classifier",
]

log = structlog.stdlib.get_logger(__name__)

#: Only this much of the new text is classified: an intent is stated up front.
CLASSIFY_MAX_CHARS = 10_000
#: A subject the person typed ("Unsubscribe", "Abmelden") counts this much of a body phrase.
SUBJECT_WEIGHT = 0.6
#: An opt-out phrase this strong decides, whatever else the reply says ("not interested, remove
#: me"; "send no more samples or price lists").
OPT_OUT_PRECEDENCE = 0.85
#: The statistical backstop (`model`, opt-in) decides a reply without any cue when its
#: probability for an intent other than neutral and opt_out reaches this.
MODEL_MIN_PROBABILITY = 0.95
#: A model decision's confidence is this share of its probability: below any vocabulary cue's.
MODEL_CONFIDENCE_SHARE = 0.7
#: The cue of the neutral answer `classify_raw` gives when a plug-in classifier fails.
CLASSIFIER_ERROR_CUE = "classifier error"

#: Which intent wins a tie: the one whose cost of a miss is highest.
_PRIORITY: dict[ReplyIntent, int] = {
    ReplyIntent.OPT_OUT: 4,
    ReplyIntent.WRONG_PERSON: 3,
    ReplyIntent.NOT_INTERESTED: 2,
    ReplyIntent.INTERESTED: 1,
    ReplyIntent.NEUTRAL: 0,
}
#: A competing intent lowers the winner's confidence by this share of its own score.
_COMPETITION = 0.25
_NO_CUE_CONFIDENCE = 0.5

#: "Re:", "AW:", "WG:", "Fwd:", "RV:", "TR:", "回复:", ... : a subject that answers ours carries our
#: own words, not the person's.
_REPLY_PREFIX = re.compile(
    r"^\s*[\[(]?(?:re|aw|wg|fw|fwd|tr|rv|sv|vs|antw|antwort|rif|res|enc|odp|r|回复|回覆|答复|答覆|转发"
    r"|轉寄|转寄|automatic reply|auto(?:matic)?[- ]?reply|autoreply|auto-response|out of office"
    r"|abwesenheitsnotiz|automatische antwort|abwesend|r[ée]ponse automatique|absence"
    r"|respuesta autom[áa]tica|fuera de la oficina|自动回复|自動回覆)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]",
    re.IGNORECASE,
)
_SUBJECT_MAX_CHARS = 300
_YES_NO = frozenset({ReplyIntent.INTERESTED, ReplyIntent.NOT_INTERESTED})
#: "But" and its kin, after which a reply says what it means ("no samples, just the price").
_CONTRAST = re.compile(
    r"(?<![a-z])(?:but|however|though|although|instead|rather|that said|aber|jedoch|allerdings"
    r"|stattdessen|eher|mais|par contre|cependant|en revanche|toutefois|plutot|pero|sin embargo"
    r"|en cambio|mas bien|no obstante|sondern|juste|seulement|uniquement|solo|solamente|unicamente"
    r"|(?:just|only) (?=the |a |your |send|need|want|quote|price))(?![a-z])"
    r"|不过|不過|但是|但|可是|然而|而是|反而|直接|只要|只需|请|請"
)
_CUE_MAX_CHARS = 120
#: A first paragraph of at most this many words is also classified alone ("STOP" or "Abmelden"
#: above a signature the extraction did not recognise).
_HEAD_WORDS = 3
_HEAD_MAX_CHARS = 400
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
#: The vocabulary's phrases and the families of stems (`families`).
_CUES: tuple[Cue, ...] = ALL_CUES + FAMILY_CUES

_ADDRESS = re.compile(r"[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,253}")
#: Only this many address-like strings are checked: a referral names one or two.
_ADDRESS_CANDIDATES = 20


@dataclass(frozen=True)
class _Hit:
    cue: Cue
    weight: float
    phrase: str  # the words the cue matched (folded), what a classification reports
    position: int  # where in the folded text (-1: in the subject)


def _hits(folded: str, scale: float = 1.0, *, in_subject: bool = False) -> list[_Hit]:
    """The first occurrence of each cue in `folded` that is not negated, weighted by `scale`.
    Cues of one intent that match the same words ("stop" is an opt-out in every language) count
    once, at the highest weight: the same words are not independent evidence."""
    best: dict[tuple[ReplyIntent, int, int], _Hit] = {}
    for cue in _CUES:
        for match in cue.pattern.finditer(folded):
            if cue.intent is ReplyIntent.OPT_OUT and (
                is_instruction(folded, match.start(), match.end())
                or is_address_change(folded, match.end())
            ):
                continue
            if not (cue.negatable and is_negated(folded, match.start(), cue)):
                phrase = match.group()[:_CUE_MAX_CHARS]
                position = -1 if in_subject else match.start()
                hit = _Hit(cue, cue.weight * scale, phrase, position)
                key = (cue.intent, match.start(), match.end())
                if key not in best or hit.weight > best[key].weight:
                    best[key] = hit
                break
    return list(best.values())


def _contrasted(by_intent: dict[ReplyIntent, list[_Hit]], folded: str) -> ReplyIntent | None:
    """Interested or not, when a "but" stands between the two ("we have a supplier, but please
    quote 5,000 pcs"; "thanks for the catalogue, but we are not interested"): what follows it."""
    yes = by_intent.get(ReplyIntent.INTERESTED, [])
    no = by_intent.get(ReplyIntent.NOT_INTERESTED, [])
    if not yes or not no:
        return None
    for marker in reversed(list(_CONTRAST.finditer(folded))):
        at = marker.start()
        if all(hit.position < at for hit in no) and any(hit.position > at for hit in yes):
            return ReplyIntent.INTERESTED
        if all(hit.position < at for hit in yes) and any(hit.position > at for hit in no):
            return ReplyIntent.NOT_INTERESTED
    return None


def _combined(weights: Iterable[float]) -> float:
    """Independent cues for one intent add up: 1 - Π(1 - w)."""
    return 1.0 - math.prod(1.0 - weight for weight in weights)


def _decide(hits: list[_Hit], folded: str) -> tuple[ReplyIntent, float, _Hit] | None:
    """(intent, confidence, deciding hit) of the hits, or None when there are none."""
    if not hits:
        return None
    by_intent: dict[ReplyIntent, list[_Hit]] = {}
    for hit in hits:
        by_intent.setdefault(hit.cue.intent, []).append(hit)
    scores = {intent: _combined(hit.weight for hit in found) for intent, found in by_intent.items()}
    opt_outs = by_intent.get(ReplyIntent.OPT_OUT, [])
    if any(hit.weight >= OPT_OUT_PRECEDENCE for hit in opt_outs):
        winner = ReplyIntent.OPT_OUT
    else:
        contrasted = _contrasted(by_intent, folded)
        candidates = {
            intent: score
            for intent, score in scores.items()
            if contrasted is None or intent not in _YES_NO or intent is contrasted
        }
        winner = max(candidates, key=lambda intent: (candidates[intent], _PRIORITY[intent]))
    runner_up = max((score for intent, score in scores.items() if intent != winner), default=0.0)
    confidence = scores[winner] * (1.0 - _COMPETITION * runner_up)
    deciding = max(by_intent[winner], key=lambda hit: hit.weight)
    return winner, round(min(0.99, max(0.05, confidence)), 3), deciding


def _person_typed(subject: str) -> str:
    """The subject when the person wrote it; "" when it answers or forwards ours."""
    subject = subject[:_SUBJECT_MAX_CHARS]
    return "" if _REPLY_PREFIX.match(subject) else subject


def _referred_email(folded: str) -> str | None:
    """The first well-formed address in the new text, lower case."""
    for match in itertools.islice(_ADDRESS.finditer(folded), _ADDRESS_CANDIDATES):
        candidate = match.group().strip(".-")
        try:
            return validate_email(candidate, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            continue
    return None


def _backstop(text: str, model: IntentModel | None) -> Classification | None:
    """The statistical model's answer where the vocabulary found no cue: taken when its
    probability reaches `MODEL_MIN_PROBABILITY`, never for an opt-out (look-alikes such as
    "please remove it" reach 0.98–0.998: a false opt-out unsubscribes a buyer)."""
    if model is None:
        return None
    prediction = model.predict(text[:CLASSIFY_MAX_CHARS])
    if (
        prediction is None
        or prediction.intent in (ReplyIntent.NEUTRAL, ReplyIntent.OPT_OUT)
        or prediction.probability < MODEL_MIN_PROBABILITY
    ):
        return None
    return Classification(
        intent=prediction.intent,
        confidence=round(min(0.99, prediction.probability * MODEL_CONFIDENCE_SHARE), 3),
        cue=prediction.cue[:_CUE_MAX_CHARS],
    )


def classify_with_backstop(text: str, *, subject: str = "") -> Classification:
    """`classify_reply`, and where it finds no cue, the statistical model (`model.default_model`)
    when it is sure enough. Opt-in (NURTURE_REPLY_CLASSIFIER=
    activities.replies.intents:classify_with_backstop): cross-validated over the corpus and the
    dev set it did not improve on the rules alone (docs/architecture.md, "Replies")."""
    return classify_with(text, subject=subject, model=default_model())


def classify_reply(text: str, *, subject: str = "") -> Classification:
    """The default classifier: `classify_with` no model."""
    return classify_with(text, subject=subject, model=None)


def classify_with(text: str, *, subject: str = "", model: IntentModel | None) -> Classification:
    """The intent of a reply's new text (quoted history, signature and disclaimer removed:
    `extraction.reply_body`), from the phrases of `cues` and the stem families of `families`
    found in its first `CLASSIFY_MAX_CHARS` (else in its first paragraph alone, when that is a
    word or three above a name block), and, weakly, in a subject the person typed (not a "Re:"
    of ours). An opt-out phrase in an instruction ("reply STOP") or followed by a new address
    does not count. An opt-out phrase of weight
    ≥ `OPT_OUT_PRECEDENCE` decides; between interested and not_interested, what follows a "but"
    decides; otherwise the intent with the highest combined weight (ties: opt_out, wrong_person,
    not_interested, interested). `cue` is the phrase matched (folded); `referred_email` the first
    address in the text of a wrong_person reply. No cue: `model`'s answer when it is sure
    (`_backstop`; its cue "model: <features>"), else neutral, confidence 0.5, cue None."""
    folded = fold(text[:CLASSIFY_MAX_CHARS])
    hits = _hits(folded)
    head = _PARAGRAPH_BREAK.split(text[:_HEAD_MAX_CHARS].strip(), maxsplit=1)[0]
    if not hits and len(head.split()) <= _HEAD_WORDS and fold(head) != folded:
        # "STOP" above a name block the extraction did not know: the first paragraph alone
        hits = _hits(fold(head))
    typed = _person_typed(subject)
    if typed:
        hits += _hits(fold(typed), SUBJECT_WEIGHT, in_subject=True)
    decided = _decide(hits, folded)
    if decided is None:
        backstop = _backstop(text, model)
        if backstop is not None:
            return backstop
        return Classification(intent=ReplyIntent.NEUTRAL, confidence=_NO_CUE_CONFIDENCE)
    intent, confidence, hit = decided
    return Classification(
        intent=intent,
        confidence=confidence,
        cue=hit.phrase.strip() or hit.cue.phrase[:_CUE_MAX_CHARS],
        language=hit.cue.language,
        referred_email=_referred_email(folded) if intent is ReplyIntent.WRONG_PERSON else None,
    )


def classify_raw(
    text: str, *, subject: str = "", classifier: ReplyClassifier | None = None
) -> Classification:
    """The intent of a raw reply body: its new text (`reply_body`) classified as
    `classify_new_text` does. Never raises."""
    try:
        new_text = reply_body(text)
    except Exception as error:
        log.warning("reply extraction failed", error_type=type(error).__name__)
        return Classification(intent=ReplyIntent.NEUTRAL, confidence=0.0, cue=CLASSIFIER_ERROR_CUE)
    return classify_new_text(new_text, subject=subject, classifier=classifier)


def classify_new_text(
    new_text: str, *, subject: str = "", classifier: ReplyClassifier | None = None
) -> Classification:
    """The intent of a reply's new text (`reply_body` applied already, as the inbound parser
    does) by `classifier` (default `classify_reply`). Never raises: when the classifier fails or
    returns something else than a `Classification`, the answer is neutral with confidence 0 and
    cue `CLASSIFIER_ERROR_CUE`, and only the exception's type is logged."""
    try:
        result = (classifier or classify_reply)(new_text, subject=subject)
        if not isinstance(result, Classification):
            raise TypeError(f"a reply classifier returned {type(result).__name__}")
    except Exception as error:  # a plug-in may raise anything; a reply must not be lost to it
        log.warning("reply classifier failed", error_type=type(error).__name__)
        return Classification(intent=ReplyIntent.NEUTRAL, confidence=0.0, cue=CLASSIFIER_ERROR_CUE)
    return result


def load_classifier(spec: str) -> ReplyClassifier:
    """The classifier NURTURE_REPLY_CLASSIFIER names: "" → `classify_reply`; "package.module:name"
    (name may be dotted: "module:Class.method") → that callable, imported. Raises `ValueError`
    naming `spec` when it is malformed, cannot be imported, or is not callable."""
    spec = spec.strip()
    if not spec:
        return classify_reply
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name.strip() or not attribute.strip():
        raise ValueError(f"reply classifier {spec!r}: expected 'package.module:callable'")
    try:
        target: object = importlib.import_module(module_name.strip())
    except Exception as error:  # ImportError, or whatever the module raises while importing
        raise ValueError(
            f"reply classifier {spec!r}: cannot import {module_name.strip()!r} "
            f"({type(error).__name__}: {error})"
        ) from error
    for name in attribute.strip().split("."):
        try:
            target = getattr(target, name)
        except AttributeError as error:
            raise ValueError(
                f"reply classifier {spec!r}: {module_name.strip()!r} has no {attribute.strip()!r}"
            ) from error
    if not callable(target):
        raise ValueError(f"reply classifier {spec!r}: {attribute.strip()!r} is not callable")
    return cast(ReplyClassifier, target)
