"""The sequences this deployment runs: nurture's own (`SEQUENCES`) and those of the modules
`NURTURE_SEQUENCES` names (`my_company.sequences`), loaded once per process. The worker registers
them, the API and the CLI find one by name, rendering finds each one's templates folder.

A module named there is imported, and so is each module of a package (but those in or named
`test*`); every class in them that `@sequence(...)` decorated is a sequence. Its templates are in
`templates/<name>/` beside the module that defines it (nurture's own: `NURTURE_TEMPLATES_DIR`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from models.errors import SequenceLoadError
from workflows.engine import SequenceWorkflow
from workflows.quote_followup import QuoteFollowupSequence
from workflows.trade_intro import TradeIntroSequence

#: nurture's own sequence workflow classes, in the order the CLI lists them.
SEQUENCES: tuple[type[SequenceWorkflow[Any]], ...] = (TradeIntroSequence, QuoteFollowupSequence)

#: The sequences of the configured modules (None: not loaded yet), and those modules.
_loaded: tuple[type[SequenceWorkflow[Any]], ...] | None = None
_loaded_from: tuple[str, ...] = ()


def _is_sequence_of(module: ModuleType, obj: object) -> bool:
    """Whether `obj` is a `@sequence` class defined in `module` (not imported into it)."""
    return (
        isinstance(obj, type)
        and issubclass(obj, SequenceWorkflow)
        and obj.__module__ == module.__name__
        and "__temporal_workflow_definition" in obj.__dict__
    )


def _import(name: str, entry: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as error:  # ImportError, or whatever the module raises while importing
        where = f"module {name!r}" + (f" (of {entry!r})" if name != entry else "")
        raise SequenceLoadError(
            f"NURTURE_SEQUENCES: cannot import {where}: {type(error).__name__}: {error}"
        ) from error


def _modules_of(entry: str) -> list[ModuleType]:
    """The module `entry` and, for a package, every module in it but `test*` ones."""
    if not entry or any(not part.isidentifier() for part in entry.split(".")):
        raise SequenceLoadError(
            f"NURTURE_SEQUENCES: {entry!r} is not a module path like 'my_company.sequences'"
        )
    module = _import(entry, entry)
    modules = [module]
    path = getattr(module, "__path__", None)
    if path is not None:
        # Each module found is imported below, its failure named; the walker's own imports (of
        # subpackages, to look inside) stay quiet, so a `tests` package is never a reason to fail.
        for info in pkgutil.walk_packages(path, prefix=f"{entry}.", onerror=lambda name: None):
            inner = info.name.removeprefix(f"{entry}.").split(".")
            if any(part.startswith("test") for part in inner):
                continue
            modules.append(_import(info.name, entry))
    return modules


def load_modules(entries: Iterable[str]) -> tuple[type[SequenceWorkflow[Any]], ...]:
    """The sequences the modules `entries` define, in their order; `SequenceLoadError` naming the
    module for one that cannot be imported, holds no sequence, or reuses a sequence's name."""
    taken: dict[str, type[SequenceWorkflow[Any]]] = {cls.name: cls for cls in SEQUENCES}
    found: list[type[SequenceWorkflow[Any]]] = []
    for entry in entries:
        classes = [
            obj
            for module in _modules_of(entry)
            for obj in vars(module).values()
            if _is_sequence_of(module, obj)
        ]
        if not classes:
            raise SequenceLoadError(
                f"NURTURE_SEQUENCES: module {entry!r} defines no sequence "
                "(a class decorated with @sequence(...))"
            )
        for cls in classes:
            other = taken.get(cls.name)
            if other is cls:
                continue
            if other is not None:
                raise SequenceLoadError(
                    f"NURTURE_SEQUENCES: module {cls.__module__!r} defines the sequence "
                    f"{cls.name!r}, which {other.__module__!r} defines already: a sequence "
                    "name is its workflow type and must be unique"
                )
            taken[cls.name] = cls
            found.append(cls)
    return tuple(found)


def configure(entries: Iterable[str]) -> tuple[type[SequenceWorkflow[Any]], ...]:
    """Load the sequences of `entries` (a worker's or an app's `settings.sequences`) beside
    nurture's own, for every later lookup in this process; return them all."""
    global _loaded, _loaded_from
    entries = tuple(entries)
    if _loaded is None or entries != _loaded_from:
        _loaded = load_modules(entries)
        _loaded_from = entries
    return (*SEQUENCES, *_loaded)


def sequences() -> tuple[type[SequenceWorkflow[Any]], ...]:
    """Every sequence: nurture's own, then those configured (first use: NURTURE_SEQUENCES)."""
    if _loaded is None:
        from models.settings import get_settings

        return configure(get_settings().sequences)
    return (*SEQUENCES, *_loaded)


def by_name(name: str) -> type[SequenceWorkflow[Any]]:
    """The sequence class called `name`; `KeyError` naming the known ones if there is none."""
    every = sequences()
    for cls in every:
        if cls.name == name:
            return cls
    known = ", ".join(cls.name for cls in every)
    raise KeyError(f"no sequence named {name!r} (known: {known})")


def names() -> list[str]:
    """The names of all sequences."""
    return [cls.name for cls in sequences()]


def templates_root(cls: type[SequenceWorkflow[Any]]) -> Path | None:
    """The folder holding `<name>/` with the templates of an outside sequence: `templates/`
    beside its module; None for nurture's own (they are in `NURTURE_TEMPLATES_DIR`)."""
    if cls in SEQUENCES:
        return None
    module_file = getattr(sys.modules[cls.__module__], "__file__", None)
    return Path(module_file).resolve().parent / "templates" if module_file else None


def templates_dir_of(name: str, default: Path) -> Path:
    """Where the sequence `name`'s `<name>/` folder is: its own root, or `default`
    (`settings.templates_dir`) for nurture's own and for a name no sequence has."""
    try:
        root = templates_root(by_name(name))
    except KeyError:
        return default
    return root or default


def template_dirs(default: Path) -> list[Path]:
    """The folders a renderer searches, `default` (`settings.templates_dir`) first, then each
    outside sequence's own (template names start with the sequence name, which is unique)."""
    roots = [default]
    for cls in sequences():
        root = templates_root(cls)
        if root is not None and root not in roots:
            roots.append(root)
    return roots


__all__ = [
    "SEQUENCES",
    "SequenceLoadError",
    "by_name",
    "configure",
    "load_modules",
    "names",
    "sequences",
    "template_dirs",
    "templates_dir_of",
    "templates_root",
]
