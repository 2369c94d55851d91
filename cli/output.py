"""What the `nurture` commands print and how they exit: the consoles, `fail()`, and one mapping
from nurture's errors to exit codes, applied by `handled_errors()`.

Exit codes:
    0  done
    1  not done: what was named does not exist, or the action was refused (a send blocked,
       a conflict, the ESP or Temporal unreachable); also a check that found problems
    2  bad input: a value the command cannot take (as Typer's own usage errors)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from models.errors import InvalidInput, NotFound, NurtureError

console = Console()
err = Console(stderr=True)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

#: Each error family's exit code; an error takes the first entry it is an instance of.
EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (InvalidInput, EXIT_BAD_INPUT),
    (ValidationError, EXIT_BAD_INPUT),
    (NotFound, EXIT_FAILED),
    (NurtureError, EXIT_FAILED),
)


def exit_code(exc: Exception) -> int:
    """The exit code for `exc` (`EXIT_FAILED` for anything not in `EXIT_CODES`)."""
    return next((code for cls, code in EXIT_CODES if isinstance(exc, cls)), EXIT_FAILED)


def describe(exc: Exception) -> str:
    """`exc` as the one line a user reads: `field: reason` for bad input."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def handled_errors() -> Iterator[None]:
    """Turn a nurture error (or a pydantic validation error) raised inside into its one-line
    message and exit code; anything else is a bug and keeps its traceback."""
    try:
        yield
    except (NurtureError, ValidationError) as exc:
        fail(describe(exc), exit_code(exc))


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CODES",
    "EXIT_FAILED",
    "console",
    "describe",
    "err",
    "exit_code",
    "fail",
    "handled_errors",
]
