"""The sequence registry the worker, the API and the CLI use: nurture's own sequences and those
NURTURE_SEQUENCES loads from outside packages (with their templates), and the errors that name
a module that does not load."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow

import worker as worker_module
from activities.deliverability.content_lint import lint_before_start
from models.errors import SequenceLoadError
from models.settings import Settings
from workflows.engine import SequenceWorkflow
from workflows.registry import (
    SEQUENCES,
    by_name,
    configure,
    names,
    template_dirs,
    templates_dir_of,
    templates_root,
)
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


# --- NURTURE_SEQUENCES: sequences from outside nurture's tree -------------------------------------

OUTSIDE = Path(__file__).resolve().parents[1] / "data" / "outside_sequences"

SEQUENCE_MODULE = """
from workflows import Sequence, sequence


@sequence({name!r})
class {cls}(Sequence):
    async def steps(self) -> None:
        await self.send("hello")
"""


@pytest.fixture(autouse=True)
def only_nurtures_own() -> Iterator[None]:
    """Each test starts and ends with no outside sequence loaded in this process."""
    configure(())
    yield
    configure(())


@pytest.fixture
def package_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for this test's modules (unique names: sys.modules keeps them)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def write_module(root: Path, source: str) -> str:
    name = f"adopter_{uuid.uuid4().hex[:10]}"
    (root / f"{name}.py").write_text(source)
    return name


def test_settings_read_comma_separated_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_SEQUENCES", " northwind.sequences, acme.flows ,")
    assert Settings().sequences == ["northwind.sequences", "acme.flows"]
    monkeypatch.delenv("NURTURE_SEQUENCES")
    assert Settings().sequences == []


def test_an_outside_package_adds_its_sequences_with_their_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(OUTSIDE))
    loaded = configure(["northwind.sequences"])
    welcome = by_name("northwind_welcome")
    assert loaded == (*SEQUENCES, welcome)
    assert welcome.__module__ == "northwind.sequences.welcome"
    assert names()[-1] == "northwind_welcome"
    # Its templates are beside its module; nurture's own stay in NURTURE_TEMPLATES_DIR.
    own = OUTSIDE / "northwind" / "sequences" / "templates"
    assert templates_root(welcome) == own
    assert templates_dir_of("northwind_welcome", Path("/default")) == own
    assert templates_dir_of("trade_intro", Path("/default")) == Path("/default")
    assert template_dirs(Path("/default")) == [Path("/default"), own]
    # The worker registers it beside nurture's own.
    assert welcome in worker_module.workflow_classes(Settings(sequences=["northwind.sequences"]))


def test_its_templates_render_and_pass_the_content_lint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(OUTSIDE))
    configure(["northwind.sequences"])
    root = templates_dir_of("northwind_welcome", Path("/default"))
    report = lint_before_start("northwind_welcome", root)
    assert report.templates == ("northwind_welcome/check_in", "northwind_welcome/hello")
    assert report.ok, report.findings
    assert not report.warnings, report.findings


def test_a_module_that_cannot_be_found_is_named() -> None:
    with pytest.raises(SequenceLoadError, match=r"cannot import module 'no_such_company\.seqs'"):
        configure(["no_such_company.seqs"])
    assert names() == [cls.name for cls in SEQUENCES]  # nothing half-loaded


def test_a_module_that_fails_while_importing_is_named_with_its_error(package_root: Path) -> None:
    name = write_module(package_root, "raise RuntimeError('the config file is missing')\n")
    with pytest.raises(SequenceLoadError) as caught:
        configure([name])
    assert f"cannot import module {name!r}" in str(caught.value)
    assert "RuntimeError: the config file is missing" in str(caught.value)


def test_a_failing_module_inside_a_package_names_both(package_root: Path) -> None:
    package = f"adopter_pkg_{uuid.uuid4().hex[:8]}"
    (package_root / package).mkdir()
    (package_root / package / "__init__.py").write_text("")
    (package_root / package / "broken.py").write_text("import not_installed_anywhere\n")
    with pytest.raises(SequenceLoadError) as caught:
        configure([package])
    assert f"module '{package}.broken' (of '{package}')" in str(caught.value)
    assert "not_installed_anywhere" in str(caught.value)


def test_a_module_reusing_a_builtin_name_is_refused_naming_both(package_root: Path) -> None:
    name = write_module(
        package_root, SEQUENCE_MODULE.format(name="trade_intro", cls="MyTradeIntro")
    )
    with pytest.raises(SequenceLoadError) as caught:
        configure([name])
    message = str(caught.value)
    assert f"module {name!r} defines the sequence 'trade_intro'" in message
    assert "'workflows.trade_intro' defines already" in message


def test_two_modules_defining_one_name_are_refused_naming_both(package_root: Path) -> None:
    first = write_module(package_root, SEQUENCE_MODULE.format(name="welcome", cls="Welcome"))
    second = write_module(package_root, SEQUENCE_MODULE.format(name="welcome", cls="Welcome"))
    with pytest.raises(SequenceLoadError, match=f"{second}.*{first}"):
        configure([first, second])


def test_a_module_without_a_sequence_is_refused(package_root: Path) -> None:
    name = write_module(package_root, "VALUE = 1\n")
    with pytest.raises(SequenceLoadError, match=f"module {name!r} defines no sequence"):
        configure([name])


def test_a_malformed_module_path_is_refused() -> None:
    with pytest.raises(SequenceLoadError, match="not a module path"):
        configure(["my-company/sequences"])


def test_the_worker_refuses_to_start_on_a_module_that_does_not_load() -> None:
    with pytest.raises(SequenceLoadError, match="no_such_company"):
        worker_module.workflow_classes(Settings(sequences=["no_such_company"]))


def test_a_package_is_walked_but_its_tests_are_not_imported(package_root: Path) -> None:
    package = f"adopter_pkg_{uuid.uuid4().hex[:8]}"
    (package_root / package / "flows" / "tests").mkdir(parents=True)
    for init in ("", "/flows", "/flows/tests"):
        (package_root / f"{package}{init}/__init__.py").write_text("")
    (package_root / package / "flows" / "welcome.py").write_text(
        SEQUENCE_MODULE.format(name=f"{package}_welcome", cls="Welcome")
    )
    # Test code needs what a worker does not have: it is never imported.
    (package_root / package / "flows" / "tests" / "helpers.py").write_text("import pytest_only\n")
    (package_root / package / "test_things.py").write_text("import pytest_only\n")
    loaded = configure([package])
    assert [cls.name for cls in loaded[len(SEQUENCES) :]] == [f"{package}_welcome"]
    assert by_name(f"{package}_welcome").__module__ == f"{package}.flows.welcome"
