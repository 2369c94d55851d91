"""`nurture new sequence NAME`: writes a new sequence into your own package — the workflow module,
its params model, a lint-clean template for each step and a time-skipping test that passes as
written — for NURTURE_SEQUENCES to load (README, "Writing your own sequences")."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.output import console, handled_errors

app = typer.Typer(help="Start something new from a template.", no_args_is_help=True)

#: A sequence name: the workflow type, the `NurtureSequence` value, the templates folder.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: nurture's own top-level packages: your sequences go into a package of your own.
_NURTURE_PACKAGES = frozenset(
    {"workflows", "activities", "models", "api", "cli", "simulator", "worker", "tests", "bench"}
)
#: The steps of the generated flow, in order.
STEPS = ("intro", "follow_up", "last_call")

_WORKFLOW = '''"""`{name}`: a follow-up sequence (written by `nurture new sequence`; make it yours).

Flow (each timing is a `{params}` field, given in `EnrollmentInput.params`):

1. Send ``intro``.
2. Wait up to ``open_window`` for a human open or a click of the intro. Nothing by then: send
   ``follow_up`` in the intro's thread.
3. ``last_call_after`` after the intro, send ``last_call``; complete.

A human reply ends the enrollment ``replied``, an unsubscribe ``unsubscribed``, a hard bounce
``bounced``, a complaint ``complained`` — at once, even mid-wait (the `Sequence` base does that).
Templates: ``templates/{name}/<step>.jinja`` beside this module.

Once contacts are enrolled, a change to this flow goes behind ``workflow.patched("...")``, and
``nurture sequences check-replay`` proves it before you deploy.
"""

from __future__ import annotations

from temporalio import workflow

from workflows import EventKind, Sequence, sequence

# The params model lives outside the workflow sandbox: built once per worker, not once per run.
with workflow.unsafe.imports_passed_through():
    from {package}.{name}_params import {params}


@sequence("{name}")
class {cls}(Sequence[{params}]):
    """intro → (follow_up if unopened) → last_call."""

    async def steps(self) -> None:
        p = self.params
        intro = await self.send("intro")
        engaged = await self.wait_for(
            {{EventKind.OPEN, EventKind.CLICK}}, on=intro, within=p.open_window
        )
        if engaged is None:
            await self.send("follow_up", reply_to=intro)
        await self.wait(until=intro.sent_at + p.last_call_after)
        await self.send("last_call")


__all__ = ["{cls}"]
'''

_PARAMS = '''"""The params of the `{name}` sequence (its timings). Kept out of the workflow module so the
workflow sandbox passes the model through instead of rebuilding it for every run."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator


class {params}(BaseModel):
    """Timings of `{name}`: ISO 8601 durations (``"P2D"``, ``"PT12H"``) or seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    open_window: timedelta = Field(
        timedelta(days=3),
        gt=timedelta(),
        description="How long the intro may go unopened before the follow-up.",
    )
    last_call_after: timedelta = Field(
        timedelta(days=7), gt=timedelta(), description="From the intro to the last call."
    )

    @model_validator(mode="after")
    def _follow_up_before_last_call(self) -> {params}:
        if self.open_window >= self.last_call_after:
            raise ValueError("open_window must be shorter than last_call_after")
        return self


__all__ = ["{params}"]
'''

_TEMPLATES = {
    "intro": """{% block subject %}{% if contact.company %}{{ contact.company }}: {% endif %}a question about your sourcing{% endblock %}
{% block text %}
{{ greeting }}

I'm {{ sender.from_name }}. We help importers{% if contact.country %} in {{ contact.country }}{% endif %} plan their orders so that goods arrive on time and the paperwork is in order.

{% if contact.company %}Is {{ contact.company }} planning orders for the coming season{% else %}Are you planning orders for the coming season{% endif %}? I'd be glad to share how we work.

Best regards,
{{ sender.from_name }}
{% endblock %}
{% block html %}
<p>{{ greeting }}</p>
<p>I'm {{ sender.from_name }}. We help importers{% if contact.country %} in {{ contact.country }}{% endif %} plan their orders so that goods arrive on time and the paperwork is in order.</p>
<p>{% if contact.company %}Is {{ contact.company }} planning orders for the coming season{% else %}Are you planning orders for the coming season{% endif %}? I'd be glad to share how we work.</p>
<p>Best regards,<br>{{ sender.from_name }}</p>
{% endblock %}
""",
    "follow_up": """{% block subject %}(sent in the intro's thread: the subject becomes "Re: " + the intro's){% endblock %}
{% block text %}
{{ greeting }}

Just bringing my note to the top of your inbox in case it got buried. Happy to share how we work whenever it suits you.

{{ sender.from_name }}
{% endblock %}
{% block html %}
<p>{{ greeting }}</p>
<p>Just bringing my note to the top of your inbox in case it got buried. Happy to share how we work whenever it suits you.</p>
<p>{{ sender.from_name }}</p>
{% endblock %}
""",
    "last_call": """{% block subject %}{% if contact.company %}{{ contact.company }}: {% endif %}should I close your file?{% endblock %}
{% block text %}
{{ greeting }}

I haven't heard back, so I'll assume the timing isn't right and won't write again about this. If that changes, a short reply is all it takes.

Best regards,
{{ sender.from_name }}
{% endblock %}
{% block html %}
<p>{{ greeting }}</p>
<p>I haven't heard back, so I'll assume the timing isn't right and won't write again about this. If that changes, a short reply is all it takes.</p>
<p>Best regards,<br>{{ sender.from_name }}</p>
{% endblock %}
""",
}

_TEST = '''"""Time-skipping tests of the `{name}` sequence (written by `nurture new sequence`): days pass in
milliseconds on Temporal's test server, and a recording `send_step` stands in for the real one
(registered under its activity name). Run from the project root:

    python -m pytest {test_path}
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.processes import installed_binary
from models.enrollment import (
    EnrollmentInput,
    EnrollmentResult,
    FinishEnrollmentInput,
    Outcome,
    SendStatus,
    SendStepInput,
    SendStepResult,
)
from models.events import EngagementEvent, EventKind
from models.search_attributes import register_search_attributes
from models.wire import EVENT_SIGNAL, FINISH_ENROLLMENT_ACTIVITY, SEND_STEP_ACTIVITY

from {package}.{name} import {cls}

Handle = WorkflowHandle[Any, EnrollmentResult]


class RecordingSender:
    """Records each step the sequence sends, and sends nothing."""

    def __init__(self) -> None:
        self.sent: list[SendStepInput] = []
        self._sent_step: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    @activity.defn(name=SEND_STEP_ACTIVITY)
    async def send_step(self, input: SendStepInput) -> SendStepResult:
        self.sent.append(input)
        self._sent_step[input.step].set()
        return SendStepResult(
            message_id=input.message_id,
            status=SendStatus.SENT,
            esp_message_id=f"esp-{{input.message_id}}",
        )

    @activity.defn(name=FINISH_ENROLLMENT_ACTIVITY)
    async def finish_enrollment(self, input: FinishEnrollmentInput) -> None:
        """Stands in for mirroring the outcome into SQL."""

    def steps(self) -> list[str]:
        return [s.step for s in self.sent]

    async def until_sent(self, step: str) -> SendStepInput:
        """The send of `step`, once the sequence has sent it."""
        await self._sent_step[step].wait()
        return next(s for s in self.sent if s.step == step)


#: What a test does while the enrollment runs (e.g. signal an event), then its result is read.
During = Callable[[Handle, RecordingSender], Awaitable[None]]


async def _nothing(handle: Handle, sender: RecordingSender) -> None:
    return None


async def enroll(during: During = _nothing, **params: str) -> tuple[EnrollmentResult, list[str]]:
    """Run one enrollment in `{name}` to its end; its result and the steps it sent."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    async with env:
        await register_search_attributes(env.client)
        sender = RecordingSender()
        queue = f"test-{{uuid.uuid4()}}"
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[{cls}],
            activities=[sender.send_step, sender.finish_enrollment],
        ):
            contact_id = uuid.uuid4()
            handle: Handle = await env.client.start_workflow(
                "{name}",
                EnrollmentInput(contact_id=contact_id, params=params),
                id=f"nurture/{name}/{{contact_id}}",
                task_queue=queue,
                result_type=EnrollmentResult,
            )
            await during(handle, sender)
            return await handle.result(), sender.steps()


def event(kind: EventKind, step: SendStepInput) -> EngagementEvent:
    """An engagement event about the email of `step`, as the webhook forwards it."""
    return EngagementEvent(kind=kind, occurred_at=datetime.now(UTC), message_id=step.message_id)


def test_an_unopened_intro_gets_the_follow_up_then_the_last_call() -> None:
    result, steps = asyncio.run(enroll())
    assert result.outcome == Outcome.COMPLETED
    assert steps == ["intro", "follow_up", "last_call"]


def test_an_opened_intro_skips_the_follow_up() -> None:
    async def open_intro(handle: Handle, sender: RecordingSender) -> None:
        await handle.signal(EVENT_SIGNAL, event(EventKind.OPEN, await sender.until_sent("intro")))

    result, steps = asyncio.run(enroll(open_intro))
    assert result.outcome == Outcome.COMPLETED
    assert steps == ["intro", "last_call"]


def test_a_reply_ends_the_enrollment_at_once() -> None:
    async def reply(handle: Handle, sender: RecordingSender) -> None:
        await handle.signal(EVENT_SIGNAL, event(EventKind.REPLY, await sender.until_sent("intro")))

    result, steps = asyncio.run(enroll(reply))
    assert result.outcome == Outcome.REPLIED
    assert steps == ["intro"]
'''


@dataclass(frozen=True)
class Scaffold:
    """The files `nurture new sequence` writes, by path."""

    package_dir: Path
    files: dict[Path, str]


def class_name(name: str) -> str:
    """`quote_reminder` → `QuoteReminderSequence`."""
    return "".join(part.capitalize() for part in name.split("_") if part) + "Sequence"


def check_name(name: str) -> None:
    """A sequence name is snake_case, at most 63 characters, and no sequence has it yet."""
    from models.errors import InvalidInput
    from workflows.registry import names

    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise InvalidInput(
            "name", f"a sequence name is snake_case like 'quote_reminder', not {name!r}"
        )
    if name in names():
        raise InvalidInput("name", f"a sequence named {name!r} exists already")


def check_package(package: str) -> None:
    from models.errors import InvalidInput

    parts = package.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise InvalidInput(
            "package", f"a package path like 'my_company.sequences', not {package!r}"
        )
    if parts[0] in _NURTURE_PACKAGES:
        raise InvalidInput(
            "package",
            f"{parts[0]!r} is nurture's own: put your sequences in a package of yours "
            "(e.g. my_company.sequences)",
        )


def plan(name: str, package: str, root: Path, tests_dir: Path) -> Scaffold:
    """The files for sequence `name` in `package` under `root`, its test in `tests_dir`."""
    package_dir = root.joinpath(*package.split("."))
    values = {
        "name": name,
        "package": package,
        "cls": class_name(name),
        "params": class_name(name).removesuffix("Sequence") + "Params",
    }
    test_path = tests_dir / f"test_{name}.py"
    shown = test_path.relative_to(root) if test_path.is_relative_to(root) else test_path
    files: dict[Path, str] = {}
    # Each level of the package is a regular package (its __init__ written only if missing).
    for depth in range(1, len(package.split(".")) + 1):
        init = root.joinpath(*package.split(".")[:depth], "__init__.py")
        if not init.exists():
            files[init] = f'"""{".".join(package.split(".")[:depth])}."""\n'
    files[package_dir / f"{name}.py"] = _WORKFLOW.format(**values)
    files[package_dir / f"{name}_params.py"] = _PARAMS.format(**values)
    for step in STEPS:
        files[package_dir / "templates" / name / f"{step}.jinja"] = _TEMPLATES[step]
    files[test_path] = _TEST.format(**values, test_path=shown.as_posix())
    return Scaffold(package_dir, files)


def write(scaffold: Scaffold) -> None:
    """Write every file; refuse (writing nothing) if one exists already."""
    from models.errors import InvalidInput

    existing = [p for p in scaffold.files if p.exists() and p.name != "__init__.py"]
    if existing:
        raise InvalidInput("name", f"{existing[0]} exists already: nothing written")
    for path, text in scaffold.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@app.command("sequence")
def new_sequence(
    name: Annotated[str, typer.Argument(help="The sequence name, snake_case: quote_reminder.")],
    package: Annotated[
        str,
        typer.Option(help="Your package the sequence goes in (what NURTURE_SEQUENCES names)."),
    ] = "sequences",
    directory: Annotated[
        Path,
        typer.Option("--dir", help="The project root the package lives under."),
    ] = Path("."),
    tests_dir: Annotated[
        Path | None,
        typer.Option(help="Where the test goes (default: tests/ under --dir)."),
    ] = None,
) -> None:
    """Write a new sequence: workflow, params model, a template per step and a passing test."""
    with handled_errors():
        check_package(package)
        check_name(name)
        root = directory.resolve()
        scaffold = plan(name, package, root, (tests_dir or root / "tests").resolve())
        write(scaffold)
    for path in scaffold.files:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        console.print(f"  wrote {escape(shown.as_posix())}")
    test = next(p for p in scaffold.files if p.name == f"test_{name}.py")
    shown_test = test.relative_to(root) if test.is_relative_to(root) else test
    console.print(
        f"\n[bold green]{escape(name)}[/] is ready. Next, from {escape(str(root))}:\n"
        f"  python -m pytest {escape(shown_test.as_posix())}   # passes as written\n"
        f"  export NURTURE_SEQUENCES={escape(package)}   # the worker, the API and the CLI load it\n"
        "  export PYTHONPATH=.   # unless your project is installed (pip install -e .)\n"
        f"  nurture lint {escape(name)}\n"
        "Edit steps() and the templates; once contacts are enrolled, change the flow behind "
        "workflow.patched and run `nurture sequences check-replay` before you deploy."
    )


__all__ = ["STEPS", "app", "check_name", "check_package", "class_name", "plan", "write"]
