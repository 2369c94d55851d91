"""Benchmark: the reply-intent classifier over the labelled corpus (tests/data/reply_intents):
per-intent precision, recall and F1, macro F1, the issue's targets, time per reply; beside it the
same over the development set (`dev`: written before the generalisation work, tuned on since)
and the held-out set (`held_out`: never tuned on, the honest figure). Prints one JSON document;
`run()` gives one corpus's figures to a caller.

    .venv/bin/python -m bench.reply_intents [--corpus DIR]      # DIR alone
    .venv/bin/python -m bench.reply_intents --cross-validate     # rules vs rules + backstop
    .venv/bin/python -m bench.reply_intents --write-examples     # the backstop's training set
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from activities.replies.accuracy import TARGETS, LabelledReply, load_corpus, score, targets_met
from activities.replies.extraction import reply_body
from activities.replies.intents import classify_raw, classify_with
from activities.replies.model import EXAMPLES_PATH, Example, IntentModel, dump_examples
from models.replies import Classification, ReplyIntent
from models.settings import PROJECT_ROOT

__all__ = ["CORPUS_DIR", "DEV_DIR", "HELD_OUT_DIR", "cross_validate", "run", "write_examples"]

CORPUS_DIR = PROJECT_ROOT / "tests" / "data" / "reply_intents"
DEV_DIR = CORPUS_DIR / "dev"
HELD_OUT_DIR = CORPUS_DIR / "held_out"


def run(corpus_dir: Path | str = CORPUS_DIR) -> dict[str, Any]:
    """{"reply_intent": {per_intent, macro_f1, accuracy, opt_out, targets (met booleans),
    target_bounds, replies, languages (counts), per_language, confusion, referred_email,
    ms_per_reply}} for `classify_raw` over the corpus in `corpus_dir`."""
    replies = load_corpus(corpus_dir)
    started = time.perf_counter()
    results: list[Classification] = [
        classify_raw(reply.text, subject=reply.subject) for reply in replies
    ]
    elapsed = time.perf_counter() - started
    scores = score(
        (reply.intent, result.intent) for reply, result in zip(replies, results, strict=True)
    )
    per_language: dict[str, Any] = {}
    for language in sorted({reply.language for reply in replies}):
        pairs = [
            (reply.intent, result.intent)
            for reply, result in zip(replies, results, strict=True)
            if reply.language == language
        ]
        scored = score(pairs)
        per_language[language] = {
            "replies": scored["replies"],
            "accuracy": scored["accuracy"],
            "macro_f1": scored["macro_f1"],
            "opt_out": _precision_recall(scored),
        }
    referred = [
        (reply.referred_email, result.referred_email)
        for reply, result in zip(replies, results, strict=True)
        if reply.intent is ReplyIntent.WRONG_PERSON and result.intent is ReplyIntent.WRONG_PERSON
    ]
    return {
        "reply_intent": {
            "per_intent": scores["per_intent"],
            "macro_f1": scores["macro_f1"],
            "accuracy": scores["accuracy"],
            "opt_out": _precision_recall(scores),
            "targets": targets_met(scores),
            "target_bounds": TARGETS,
            "replies": len(replies),
            "languages": dict(sorted(Counter(reply.language for reply in replies).items())),
            "per_language": per_language,
            "confusion": scores["confusion"],
            # over wrong_person replies classified so: the address found (or none) is the label's
            "referred_email": {
                "wrong_person_found": len(referred),
                "matching": sum(expected == found for expected, found in referred),
            },
            "ms_per_reply": round(1000 * elapsed / max(1, len(replies)), 3),
        }
    }


def _precision_recall(scores: dict[str, Any]) -> dict[str, float]:
    opt_out = scores["per_intent"][str(ReplyIntent.OPT_OUT)]
    return {"precision": opt_out["precision"], "recall": opt_out["recall"]}


def cross_validate(folds: int = 5) -> dict[str, Any]:
    """The statistical backstop, measured: the tuned corpus and the dev set shuffled (fixed seed)
    into `folds` folds; each fold classified by the rules alone and by the rules with a model
    trained on the other folds. {"rules" | "rules_and_model": {"corpus" | "dev": {macro_f1,
    opt_out}}, "model_alone": {macro_f1, opt_out}}."""
    replies: list[tuple[LabelledReply, str]] = [
        *((reply, "corpus") for reply in load_corpus(CORPUS_DIR)),
        *((reply, "dev") for reply in load_corpus(DEV_DIR)),
    ]
    random.Random(1).shuffle(replies)
    texts = {reply.id: reply_body(reply.text) for reply, _ in replies}
    pairs: dict[str, dict[str, list[tuple[ReplyIntent, ReplyIntent]]]] = {
        way: {"corpus": [], "dev": []} for way in ("rules", "rules_and_model")
    }
    alone: list[tuple[ReplyIntent, ReplyIntent]] = []
    for fold in range(folds):
        model = IntentModel(
            [
                Example(reply.intent, texts[reply.id])
                for index, (reply, _) in enumerate(replies)
                if index % folds != fold
            ]
        )
        for reply, source in replies[fold::folds]:
            text = texts[reply.id]
            for way, used in (("rules", None), ("rules_and_model", model)):
                found = classify_with(text, subject=reply.subject, model=used)
                pairs[way][source].append((reply.intent, found.intent))
            predicted = model.predict(text)
            alone.append((reply.intent, predicted.intent if predicted else ReplyIntent.NEUTRAL))

    def brief(scores: dict[str, Any]) -> dict[str, Any]:
        return {"macro_f1": scores["macro_f1"], "opt_out": _precision_recall(scores)}

    return {
        "folds": folds,
        **{
            way: {source: brief(score(found)) for source, found in by_source.items()}
            for way, by_source in pairs.items()
        },
        "model_alone": brief(score(alone)),
    }


def write_examples() -> int:
    """Rewrite the backstop's training examples (`model.EXAMPLES_PATH`) from the tuned corpus:
    the new text of each reply and its label. Returns how many."""
    examples = [Example(reply.intent, reply_body(reply.text)) for reply in load_corpus(CORPUS_DIR)]
    EXAMPLES_PATH.write_text(dump_examples(examples), encoding="utf-8")
    return len(examples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, help="score this directory alone")
    parser.add_argument("--cross-validate", action="store_true", help="the backstop, measured")
    parser.add_argument("--write-examples", action="store_true", help="rebuild examples.jsonl")
    args = parser.parse_args()
    if args.write_examples:
        print(json.dumps({"examples": write_examples(), "path": str(EXAMPLES_PATH)}))
        return
    if args.cross_validate:
        print(json.dumps({"cross_validation": cross_validate()}, indent=2))
        return
    if args.corpus is not None:
        print(json.dumps(run(args.corpus), indent=2, ensure_ascii=False))
        return
    out = run(CORPUS_DIR)
    for key, directory in (("dev", DEV_DIR), ("held_out", HELD_OUT_DIR)):
        if directory.is_dir():
            out[key] = run(directory)["reply_intent"]
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
