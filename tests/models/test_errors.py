"""The one error tree: every domain error lives in models/errors.py, is drawn in its docstring,
and the permanent ones are non-retryable in both the activity and the workflow's retry policy."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import UTC, datetime

import pytest

import activities
import api
import cli
import models
import workflows
from activities.enrollment.activities import to_application_error
from models import errors
from models.errors import NurtureError, permanent_error_types
from workflows.engine import SEND_RETRY_POLICY

#: Exceptions that are control flow, not domain errors: a workflow's exit unwinding `steps()`,
#: a dev-stack child that would not start.
NOT_DOMAIN_ERRORS = {
    "workflows.engine.EnrollmentEnded",
    "cli.processes.ProcessFailed",
    "cli.devstack.PortsBusy",  # a ProcessFailed of `nurture dev`'s own start-up
}


def _all_error_classes() -> list[type[NurtureError]]:
    found: list[type[NurtureError]] = []
    pending = [NurtureError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def _project_modules():
    for package in (activities, api, cli, models, workflows):
        yield package
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in info.name:
                continue
            yield importlib.import_module(info.name)


def _instance(cls: type[NurtureError]) -> NurtureError:
    """One instance of `cls`, whatever its constructor asks for."""
    kwargs = {
        "retry_at": datetime(2026, 1, 1, tzinfo=UTC),
        "scope": "sender",
        "problem": "bad",
        "retry_after_seconds": 1.0,
        "maybe_accepted": False,
    }
    params = inspect.signature(cls.__init__).parameters
    args = [
        [] if name == "errors" else "x"
        for name, p in params.items()
        if name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty
    ]
    return cls(*args, **{k: v for k, v in kwargs.items() if k in params})


def test_every_exception_class_of_the_project_is_in_the_error_tree() -> None:
    stray = set()
    for module in _project_modules():
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and module.__name__ != "models.errors"
            ):
                stray.add(f"{module.__name__}.{name}")
    assert stray == NOT_DOMAIN_ERRORS, "domain errors belong in models/errors.py"


def test_the_docstring_draws_every_error_class() -> None:
    doc = errors.__doc__ or ""
    missing = [c.__name__ for c in _all_error_classes() if f" {c.__name__} " not in doc]
    assert missing == []


def test_not_found_errors_are_one_branch_that_lookup_callers_still_catch() -> None:
    not_found = [c for c in _all_error_classes() if c.__name__.endswith("NotFound")]
    assert {c.__name__ for c in not_found} >= {
        "ContactNotFound",
        "SenderNotFound",
        "CohortNotFound",
        "EnrollmentNotFound",
    }
    for cls in not_found:
        assert issubclass(cls, errors.NotFound)
        assert issubclass(cls, LookupError)


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_activity_and_workflow_agree_on_what_is_permanent(cls: type[NurtureError]) -> None:
    failure = to_application_error(_instance(cls))
    assert failure.type == cls.__name__
    assert failure.non_retryable == cls.permanent
    in_policy = cls.__name__ in (SEND_RETRY_POLICY.non_retryable_error_types or [])
    assert in_policy == cls.permanent
    assert (cls.__name__ in permanent_error_types()) == cls.permanent
