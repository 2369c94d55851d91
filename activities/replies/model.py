"""The classifier's statistical backstop: a naive Bayes model over words, word pairs, character
n-grams and Chinese character n-grams of a reply's new text, trained (in plain Python, in a few
milliseconds, on first use) from `examples.jsonl` — the new texts of the labelled corpus. It is
asked only when the vocabulary finds nothing or little (`intents.classify_reply`)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from activities.replies.cues import fold
from models.replies import ReplyIntent

__all__ = ["EXAMPLES_PATH", "Example", "IntentModel", "Prediction", "default_model", "features"]

#: The training examples shipped with the package: {"intent", "text"} per line, `text` the new
#: text of a corpus reply (`extraction.reply_body`). `bench.reply_intents --write-examples`
#: rebuilds it from tests/data/reply_intents; a test keeps the two in step.
EXAMPLES_PATH = Path(__file__).with_name("examples.jsonl")

#: Only this much of a new text is turned into features (the rules read 10,000 characters).
MAX_FEATURE_CHARS = 2_000
#: Laplace smoothing of the per-intent feature frequencies.
_ALPHA = 0.3
#: A feature counts when at least this many training examples have it.
_MIN_EXAMPLES = 2
#: Naive Bayes multiplies many correlated n-gram likelihoods and is overconfident: the log-scores
#: are divided by this power of the number of features present before they become probabilities.
_TEMPER = 0.4
#: How many features a prediction names as its cue.
_CUE_FEATURES = 3

_TOKEN = re.compile(r"[a-z][a-z']*[a-z]|[a-z]|[.!?;,:]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_ADDRESS_OR_LINK = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")
#: Words after which, up to the next punctuation, words are marked negated ("~interested").
_NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "dont",
        "don't",
        "doesn't",
        "didn't",
        "won't",
        "cannot",
        "nicht",
        "kein",
        "keine",
        "keinen",
        "keinerlei",
        "nie",
        "ne",
        "pas",
        "plus",
        "jamais",
        "aucun",
        "aucune",
        "nunca",
        "ni",
        "tampoco",
    }
)
#: A salutation line ("Hi Kevin,", "Sehr geehrte Frau Huang,", "您好，") says nothing of intent.
_SALUTATION = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon)|sehr geehrte\w*|hallo|liebe\w*|guten tag"
    r"|moin|bonjour|madame|monsieur|cher|chere|hola|estimad\w*|buen(?:os)? dias?|senor\w*|sr|sra"
    r"|\S{0,12}(?:您好|你好))(?![a-z])"
)
_SENTENCE_END = re.compile(r"[.!?。！？]$")
_STEM_CHARS = 6


def _content(text: str) -> str:
    """`text` without a salutation line and without trailing short lines that end no sentence
    (names, titles, company, phone): what is left of a signature after extraction."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and len(lines[0].split()) <= 6 and _SALUTATION.match(fold(lines[0])):
        lines = lines[1:]
    while len(lines) > 1 and len(lines[-1].split()) <= 5 and not _SENTENCE_END.search(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def features(text: str) -> set[str]:
    """The features of a new text (salutation and signature lines dropped, folded): each word,
    marked "~" within the reach of a negator, each pair of adjacent words, the first
    `_STEM_CHARS` letters of a longer word (a crude stem: "unsubscribing", "unsubscribe"), the
    4-letter n-grams of each word, and the character pairs of each run of Chinese characters.
    Addresses and links dropped."""
    folded = _ADDRESS_OR_LINK.sub(" ", fold(_content(text[:MAX_FEATURE_CHARS])))
    found: set[str] = set()
    negated = False
    previous: str | None = None
    for token in _TOKEN.findall(folded):
        if token in ".!?;,:":
            negated, previous = False, None
            continue
        word = f"~{token}" if negated else token
        negated = negated or token in _NEGATORS
        found.add(f"w:{word}")
        if previous:
            found.add(f"b:{previous} {word}")
        if len(token) > _STEM_CHARS:
            found.add(f"s:{word[: _STEM_CHARS + word.startswith('~')]}")
        padded = f"<{word}>"
        found.update(f"c:{padded[i : i + 4]}" for i in range(len(padded) - 3))
        previous = word
    for run in _CJK_RUN.findall(folded):
        found.update(f"z:{run[i : i + 2]}" for i in range(len(run) - 1))
    return found


@dataclass(frozen=True)
class Example:
    """One training example: a new text and its intent."""

    intent: ReplyIntent
    text: str


@dataclass(frozen=True)
class Prediction:
    """The model's intent for a text, its (tempered) probability, and the features that weighed
    most for it against the runner-up, readable as a cue."""

    intent: ReplyIntent
    probability: float
    evidence: tuple[str, ...]

    @property
    def cue(self) -> str:
        return "model: " + ", ".join(self.evidence)


class IntentModel:
    """Binarised multinomial naive Bayes: P(intent) × Π P(feature | intent) over the features a
    text has, with the log-scores tempered (`_TEMPER`) into probabilities."""

    def __init__(self, examples: Sequence[Example]) -> None:
        if not examples:
            raise ValueError("an intent model needs at least one example")
        per_example = [(example.intent, features(example.text)) for example in examples]
        document_frequency = Counter(f for _, found in per_example for f in found)
        vocabulary = {f for f, count in document_frequency.items() if count >= _MIN_EXAMPLES}
        self.intents: tuple[ReplyIntent, ...] = tuple(
            sorted({example.intent for example in examples}, key=str)
        )
        counts: dict[ReplyIntent, Counter[str]] = {intent: Counter() for intent in self.intents}
        for intent, found in per_example:
            counts[intent].update(found & vocabulary)
        total = len(examples)
        self._log_prior = {
            intent: math.log(sum(e.intent is intent for e in examples) / total)
            for intent in self.intents
        }
        self._log_likelihood: dict[ReplyIntent, dict[str, float]] = {}
        self._log_unseen: dict[ReplyIntent, float] = {}
        for intent in self.intents:
            denominator = sum(counts[intent].values()) + _ALPHA * (len(vocabulary) + 1)
            self._log_likelihood[intent] = {
                f: math.log((counts[intent][f] + _ALPHA) / denominator) for f in vocabulary
            }
            self._log_unseen[intent] = math.log(_ALPHA / denominator)
        self.vocabulary = frozenset(vocabulary)

    def predict(self, text: str) -> Prediction | None:
        """The most probable intent of `text`, or None when it has no known feature."""
        present = sorted(features(text) & self.vocabulary)
        if not present:
            return None
        scores = {
            intent: self._log_prior[intent] + sum(self._log_likelihood[intent][f] for f in present)
            for intent in self.intents
        }
        temper = len(present) ** _TEMPER
        top = max(scores.values())
        weights = {intent: math.exp((score - top) / temper) for intent, score in scores.items()}
        total = sum(weights.values())
        ranked = sorted(self.intents, key=lambda intent: scores[intent], reverse=True)
        winner = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else winner
        contribution = sorted(
            present,
            key=lambda f: self._log_likelihood[winner][f] - self._log_likelihood[runner_up][f],
            reverse=True,
        )
        evidence = tuple(_readable(f) for f in contribution[:_CUE_FEATURES])
        return Prediction(winner, round(weights[winner] / total, 4), evidence)


def _readable(feature: str) -> str:
    kind, _, value = feature.partition(":")
    return value.strip("<>") if kind in "cs" else value


def load_examples(path: Path | str = EXAMPLES_PATH) -> list[Example]:
    """The examples in `path` (JSON lines {"intent", "text"})."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [
        Example(ReplyIntent(row["intent"]), str(row["text"]))
        for row in map(json.loads, filter(str.strip, lines))
    ]


def dump_examples(examples: Iterable[Example]) -> str:
    """`examples` as `EXAMPLES_PATH` stores them."""
    return "".join(
        json.dumps({"intent": str(e.intent), "text": e.text}, ensure_ascii=False) + "\n"
        for e in examples
    )


@cache
def default_model() -> IntentModel:
    """The model trained on `EXAMPLES_PATH`, once per process."""
    return IntentModel(load_examples())
