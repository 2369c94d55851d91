"""The default classifier over the labelled reply corpus (tests/data/reply_intents) meets the
issue's targets: opt_out precision ≥ 0.95 and recall ≥ 0.90, macro F1 ≥ 0.85; so does it over the
development set (tests/data/reply_intents/dev), whose false opt-outs are none."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from activities.replies.accuracy import (
    SCORED_INTENTS,
    TARGETS,
    LabelledReply,
    load_corpus,
    score,
    targets_met,
)
from activities.replies.intents import classify_raw
from models.replies import ReplyIntent

CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "reply_intents"
DEV_DIR = CORPUS_DIR / "dev"
MIN_DEV_PER_LANGUAGE = 30
LANGUAGES = ("en", "de", "fr", "es", "zh")
MIN_PER_LANGUAGE = 40

YES, NO, OUT = ReplyIntent.INTERESTED, ReplyIntent.NOT_INTERESTED, ReplyIntent.OPT_OUT


@pytest.fixture(scope="module")
def corpus() -> list[LabelledReply]:
    return load_corpus(CORPUS_DIR)


def test_every_language_has_its_corpus(corpus: list[LabelledReply]) -> None:
    assert {path.stem for path in CORPUS_DIR.glob("*.jsonl")} == set(LANGUAGES)
    counts = Counter(reply.language for reply in corpus)
    assert all(counts[language] >= MIN_PER_LANGUAGE for language in LANGUAGES), counts
    assert len({reply.id for reply in corpus}) == len(corpus)
    assert {reply.intent for reply in corpus} == set(SCORED_INTENTS)


def test_the_classifier_meets_the_targets(corpus: list[LabelledReply]) -> None:
    results = [classify_raw(reply.text, subject=reply.subject) for reply in corpus]
    scores = score(
        (reply.intent, result.intent) for reply, result in zip(corpus, results, strict=True)
    )
    misses = [
        f"{reply.id}: {reply.intent} → {result.intent} (cue {result.cue!r})"
        for reply, result in zip(corpus, results, strict=True)
        if reply.intent != result.intent
    ]
    report = json.dumps(
        {k: scores[k] for k in ("per_intent", "macro_f1", "confusion")}, indent=1
    ) + "\n" + "\n".join(misses)  # fmt: skip
    assert all(targets_met(scores).values()), f"targets {TARGETS}:\n{report}"


def test_the_dev_set_meets_the_targets_without_a_false_opt_out(
    corpus: list[LabelledReply],
) -> None:
    dev = load_corpus(DEV_DIR)
    counts = Counter(reply.language for reply in dev)
    assert all(counts[language] >= MIN_DEV_PER_LANGUAGE for language in LANGUAGES), counts
    assert not {reply.id for reply in dev} & {reply.id for reply in corpus}
    results = [classify_raw(reply.text, subject=reply.subject) for reply in dev]
    scores = score(
        (reply.intent, result.intent) for reply, result in zip(dev, results, strict=True)
    )
    false_opt_outs = [
        reply.id
        for reply, result in zip(dev, results, strict=True)
        if result.intent is ReplyIntent.OPT_OUT and reply.intent is not ReplyIntent.OPT_OUT
    ]
    assert not false_opt_outs
    assert all(targets_met(scores).values()), scores["confusion"]


def test_wrong_person_replies_name_the_referred_address(corpus: list[LabelledReply]) -> None:
    found = {
        reply.id: (reply.referred_email, classify_raw(reply.text, subject=reply.subject))
        for reply in corpus
        if reply.referred_email
    }
    named = [
        (expected, result.referred_email)
        for expected, result in found.values()
        if result.intent is ReplyIntent.WRONG_PERSON
    ]
    assert named
    assert sum(expected == got for expected, got in named) >= 0.9 * len(named), named


def test_score_computes_precision_recall_and_macro_f1() -> None:
    scores = score([(YES, YES), (YES, NO), (NO, NO), (OUT, OUT), (OUT, YES)])
    interested = scores["per_intent"]["interested"]
    assert interested == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert scores["per_intent"]["opt_out"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "support": 2,
    }
    assert scores["per_intent"]["neutral"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
    }
    assert scores["confusion"] == {
        "interested": {"interested": 1, "not_interested": 1},
        "not_interested": {"not_interested": 1},
        "opt_out": {"opt_out": 1, "interested": 1},
    }
    assert scores["macro_f1"] == round((0.5 + 2 / 3 + 2 / 3) / 5, 4)
    assert (scores["accuracy"], scores["replies"]) == (0.6, 5)


def test_load_corpus_names_a_bad_line(tmp_path: Path) -> None:
    (tmp_path / "en.jsonl").write_text('{"id": "en-1", "language": "en", "intent": "maybe"}\n')
    with pytest.raises(ValueError, match=r"en\.jsonl:1"):
        load_corpus(tmp_path)
