"""The statistical backstop: its features, the naive Bayes model, the examples it is trained on
(the tuned corpus's new texts), and the opt-in classifier that consults it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from activities.replies.accuracy import load_corpus
from activities.replies.extraction import reply_body
from activities.replies.intents import (
    classify_raw,
    classify_reply,
    classify_with,
    classify_with_backstop,
    load_classifier,
)
from activities.replies.model import (
    EXAMPLES_PATH,
    Example,
    IntentModel,
    default_model,
    dump_examples,
    features,
    load_examples,
)
from models.replies import ReplyIntent

CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "reply_intents"

INTERESTED = ReplyIntent.INTERESTED
OPT_OUT = ReplyIntent.OPT_OUT
NEUTRAL = ReplyIntent.NEUTRAL


def test_features_mark_negation_stem_words_and_pair_chinese_characters() -> None:
    found = features("Hi Kevin,\n\nWe are not interested. Unsubscribing\n\nKevin Lin\nAcme Ltd")
    assert {"w:~interested", "b:not ~interested", "s:unsubs", "c:<uns"} <= found
    assert "w:interested" not in found  # negated up to the full stop
    assert not any("kevin" in feature or "acme" in feature for feature in found)  # greeting, name
    assert {"z:退订", "z:不要"} <= features("不要再发了，退订")
    assert not any("example" in feature for feature in features("write to a@b.example.com"))


def tiny_model() -> IntentModel:
    return IntentModel(
        [
            Example(OPT_OUT, "zorblat quench"),
            Example(OPT_OUT, "zorblat quench now"),
            Example(INTERESTED, "frobnicate widgets"),
            Example(INTERESTED, "frobnicate widgets please"),
            Example(NEUTRAL, "hello there"),
            Example(NEUTRAL, "hello there friend"),
        ]
    )


def test_the_model_predicts_with_a_readable_cue() -> None:
    prediction = tiny_model().predict("frobnicate widgets")
    assert prediction is not None
    assert prediction.intent is INTERESTED
    assert prediction.probability > 0.5
    assert prediction.cue.startswith("model: ")
    assert "frobnicate" in prediction.cue
    assert tiny_model().predict("xyzzy plugh") is None
    with pytest.raises(ValueError, match="at least one example"):
        IntentModel([])


def test_the_backstop_decides_only_without_cues_and_never_an_opt_out() -> None:
    model = tiny_model()
    decided = classify_with("frobnicate widgets", model=model)
    assert decided.intent is INTERESTED
    assert decided.cue is not None
    assert decided.cue.startswith("model: ")
    assert decided.confidence < 0.9  # below a vocabulary cue's
    # the model is sure of an opt-out: that stays neutral (a false opt-out unsubscribes a buyer)
    assert (prediction := model.predict("zorblat quench")) is not None
    assert prediction.intent is OPT_OUT
    assert classify_with("zorblat quench", model=model).intent is NEUTRAL
    # a vocabulary cue decides before the model is asked
    assert classify_with("Not interested. frobnicate widgets", model=model).intent is not (
        INTERESTED
    )
    assert classify_with("frobnicate widgets", model=None).intent is NEUTRAL


def test_the_shipped_examples_are_the_tuned_corpus_new_texts() -> None:
    # rebuild: python -m bench.reply_intents --write-examples
    expected = [Example(reply.intent, reply_body(reply.text)) for reply in load_corpus(CORPUS_DIR)]
    assert EXAMPLES_PATH.read_text(encoding="utf-8") == dump_examples(expected)
    assert load_examples() == expected


def test_the_default_model_trains_quickly_and_once() -> None:
    default_model.cache_clear()
    started = time.perf_counter()
    model = default_model()
    assert time.perf_counter() - started < 5.0
    assert default_model() is model
    assert set(model.intents) == {
        ReplyIntent.INTERESTED,
        ReplyIntent.NOT_INTERESTED,
        ReplyIntent.OPT_OUT,
        ReplyIntent.WRONG_PERSON,
        ReplyIntent.NEUTRAL,
    }


def test_the_backstop_is_an_opt_in_plug_in() -> None:
    assert load_classifier("") is classify_reply
    plugin = load_classifier("activities.replies.intents:classify_with_backstop")
    assert plugin is classify_with_backstop
    assert plugin("Please unsubscribe me.").intent is OPT_OUT  # the rules still decide first
    started = time.perf_counter()
    huge = classify_raw("Gracias. " + "bla " * 7_500_000, classifier=plugin)
    assert time.perf_counter() - started < 5.0
    assert huge.intent is not OPT_OUT
