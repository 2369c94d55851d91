"""The README's "Writing a sequence" example is true: it compiles, is the workflow it names, and
runs as written (time-skipping server, the fake sender) — in the workflow sandbox, from its own
module, as a sequence of the project would."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow

from models.enrollment import Outcome
from models.events import EventKind
from tests.workflows.scenarios import Enrollment, FakeSender
from workflows.engine import SequenceWorkflow

README = Path(__file__).resolve().parents[2] / "README.md"
MODULE = "readme_example"

Enroll = Callable[..., Awaitable[Enrollment]]


def readme_example() -> str:
    """The first Python block of the README's "Writing a sequence" section."""
    section = README.read_text().split("\n## Writing a sequence\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The example as a module of its own (the sandbox re-imports a workflow's module by name)."""
    (tmp_path / f"{MODULE}.py").write_text(readme_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield importlib.import_module(MODULE)
    finally:
        sys.modules.pop(MODULE, None)


@pytest.fixture
def sequence_classes(example: Any) -> list[type]:
    return [example.MachineryFollowup]


def test_the_example_is_the_workflow_it_names(example: Any) -> None:
    cls = example.MachineryFollowup
    assert issubclass(cls, SequenceWorkflow)
    assert cls.name == "machinery_followup"
    assert workflow._Definition.must_from_class(cls).name == "machinery_followup"
    assert cls.params_model is example.MachineryParams


async def test_without_a_click_it_bumps_in_the_intros_thread_and_offers_a_week_later(
    example: Any, enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(sequence=example.MachineryFollowup)
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "bump", "offer"]
    assert sender.input_of("intro").template == "machinery_followup/intro"
    assert sender.input_of("bump").in_reply_to_message_id == sender.input_of("intro").message_id
    assert sender.days_after_start("bump") == pytest.approx(3, abs=0.01)
    assert sender.days_after_start("offer") == pytest.approx(7, abs=0.01)


async def test_a_click_on_the_intro_goes_straight_to_the_offer(
    example: Any, enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(sequence=example.MachineryFollowup, params={"click_window": "P5D"})
    await e.until_waiting("intro")
    await e.sleep(days=4)  # inside the five days the params give, past the default three
    await e.event(EventKind.CLICK, "intro", url="https://example.com/offer")
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "offer"]
