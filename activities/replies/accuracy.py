"""How well replies are understood: a labelled reply corpus (JSON lines, one file per language)
and its scoring — per-intent precision, recall, F1 and support, macro F1, the confusion — shared
by the corpus test and `bench.reply_intents`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.replies import ReplyIntent

__all__ = ["SCORED_INTENTS", "TARGETS", "LabelledReply", "load_corpus", "score", "targets_met"]

#: The intents a human reply is classified into (auto-replies are told apart before).
SCORED_INTENTS: tuple[ReplyIntent, ...] = (
    ReplyIntent.INTERESTED,
    ReplyIntent.NOT_INTERESTED,
    ReplyIntent.OPT_OUT,
    ReplyIntent.WRONG_PERSON,
    ReplyIntent.NEUTRAL,
)

#: The issue's targets over a labelled corpus: figure → lower bound.
TARGETS: dict[str, float] = {"opt_out_precision": 0.95, "opt_out_recall": 0.90, "macro_f1": 0.85}


@dataclass(frozen=True)
class LabelledReply:
    """One corpus line: a full reply (quoted history, signature and all) and its label."""

    id: str
    language: str
    intent: ReplyIntent
    subject: str
    text: str
    referred_email: str | None = None


def load_corpus(directory: Path | str) -> list[LabelledReply]:
    """Every reply in `directory`/*.jsonl (lines `{"id", "language", "intent", "subject", "text",
    "referred_email"?}`), files in name order. A malformed line raises `ValueError` naming the
    file and line."""
    replies: list[LabelledReply] = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                replies.append(
                    LabelledReply(
                        id=str(row["id"]),
                        language=str(row["language"]),
                        intent=ReplyIntent(row["intent"]),
                        subject=str(row.get("subject") or ""),
                        text=str(row["text"]),
                        referred_email=row.get("referred_email") or None,
                    )
                )
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path.name}:{number}: {error!r}") from error
    return replies


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def score(pairs: Iterable[tuple[ReplyIntent, ReplyIntent]]) -> dict[str, Any]:
    """Scores of (expected, predicted) pairs: `per_intent` {intent: {precision, recall, f1,
    support}} over `SCORED_INTENTS`, `macro_f1` (their unweighted mean), `accuracy`, `replies`,
    and `confusion` {expected: {predicted: count}}. An intent never predicted has precision 0."""
    confusion: dict[str, dict[str, int]] = {}
    total = correct = 0
    for expected, predicted in pairs:
        row = confusion.setdefault(str(expected), {})
        row[str(predicted)] = row.get(str(predicted), 0) + 1
        total += 1
        correct += expected == predicted
    per_intent: dict[str, dict[str, float | int]] = {}
    f1s: list[float] = []
    for intent in SCORED_INTENTS:
        name = str(intent)
        support = sum(confusion.get(name, {}).values())
        true_positives = confusion.get(name, {}).get(name, 0)
        predictions = sum(row.get(name, 0) for row in confusion.values())
        precision = _ratio(true_positives, predictions)
        recall = _ratio(true_positives, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        per_intent[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    macro_f1 = sum(f1s) / len(f1s)
    return {
        "per_intent": per_intent,
        "macro_f1": round(macro_f1, 4),
        "accuracy": round(_ratio(correct, total), 4),
        "replies": total,
        "confusion": confusion,
    }


def targets_met(scores: dict[str, Any]) -> dict[str, bool]:
    """For each of `TARGETS`, whether `scores` (from `score`) reaches it."""
    opt_out = scores["per_intent"][str(ReplyIntent.OPT_OUT)]
    figures = {
        "opt_out_precision": opt_out["precision"],
        "opt_out_recall": opt_out["recall"],
        "macro_f1": scores["macro_f1"],
    }
    return {name: figures[name] >= bound for name, bound in TARGETS.items()}
