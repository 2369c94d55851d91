"""Benchmark: the reply-intent classifier over the labelled corpus (tests/data/reply_intents):
per-intent precision, recall and F1, macro F1, the issue's targets, time per reply. Prints one
JSON document; `run()` gives the same figures to a caller.

    .venv/bin/python -m bench.reply_intents [--corpus DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from activities.replies.accuracy import TARGETS, load_corpus, score, targets_met
from activities.replies.intents import classify_raw
from models.replies import Classification, ReplyIntent
from models.settings import PROJECT_ROOT

__all__ = ["CORPUS_DIR", "run"]

CORPUS_DIR = PROJECT_ROOT / "tests" / "data" / "reply_intents"


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    print(json.dumps(run(parser.parse_args().corpus), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
