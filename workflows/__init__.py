"""Deterministic workflow code, and the one import for sequence authors::

    from workflows import EventKind, Sequence, sequence

The engine is `workflows.engine`, the reference sequences `workflows.trade_intro` and
`workflows.quote_followup`, the registry the worker and CLI use `workflows.registry`.
"""

from temporalio import workflow

# The workflow sandbox re-runs this package for every workflow run; what it exports comes from
# outside (deterministic engine code and plain models), imported once per worker instead.
with workflow.unsafe.imports_passed_through():
    from models.business_events import Trigger
    from models.calendar import SendWindow
    from models.enrollment import EnrollmentInput, EnrollmentResult, Outcome
    from models.events import EngagementEvent, EventKind
    from models.reenrollment import Reenrollment
    from workflows.engine import NoParams, SequenceWorkflow, Step, sequence

#: What authors subclass: ``class QuoteFollowup(Sequence[QuoteParams])``. Engine code says
#: `SequenceWorkflow`, which does not shadow `collections.abc.Sequence`.
Sequence = SequenceWorkflow

__all__ = [
    "EngagementEvent",
    "EnrollmentInput",
    "EnrollmentResult",
    "EventKind",
    "NoParams",
    "Outcome",
    "Reenrollment",
    "SendWindow",
    "Sequence",
    "SequenceWorkflow",
    "Step",
    "Trigger",
    "sequence",
]
