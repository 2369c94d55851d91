"""The sequences this deployment runs: the worker registers `SEQUENCES`, the CLI finds one by name."""

from __future__ import annotations

from typing import Any

from workflows.engine import SequenceWorkflow
from workflows.quote_followup import QuoteFollowupSequence
from workflows.trade_intro import TradeIntroSequence

#: Every sequence workflow class, in the order the CLI lists them.
SEQUENCES: tuple[type[SequenceWorkflow[Any]], ...] = (TradeIntroSequence, QuoteFollowupSequence)


def by_name(name: str) -> type[SequenceWorkflow[Any]]:
    """The sequence class called `name`; `KeyError` naming the known ones if there is none."""
    for cls in SEQUENCES:
        if cls.name == name:
            return cls
    known = ", ".join(cls.name for cls in SEQUENCES)
    raise KeyError(f"no sequence named {name!r} (known: {known})")


def names() -> list[str]:
    """The names of all sequences."""
    return [cls.name for cls in SEQUENCES]


__all__ = ["SEQUENCES", "by_name", "names"]
