"""The sequence registry the worker and CLI use."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import workflow

from workflows.engine import SequenceWorkflow
from workflows.registry import SEQUENCES, by_name, names
from workflows.trade_intro import TradeIntroSequence


def test_by_name_finds_trade_intro() -> None:
    assert by_name("trade_intro") is TradeIntroSequence
    assert "trade_intro" in names()


def test_by_name_rejects_an_unknown_sequence_naming_the_known_ones() -> None:
    with pytest.raises(KeyError, match="trade_intro"):
        by_name("no_such_sequence")


@pytest.mark.parametrize("cls", SEQUENCES, ids=lambda cls: cls.name)
def test_every_sequence_is_a_workflow_named_after_itself(cls: type[SequenceWorkflow[Any]]) -> None:
    assert issubclass(cls, SequenceWorkflow)
    # The workflow type is wire API: the registry, templates and workflow ids use the same name.
    assert workflow._Definition.must_from_class(cls).name == cls.name


def test_sequence_names_are_unique() -> None:
    assert len(set(names())) == len(SEQUENCES)
