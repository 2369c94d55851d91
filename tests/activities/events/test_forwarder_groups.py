"""How the forwarder cuts one workflow's pending rows into signals: runs of engagement events
together (up to the cap), every control signal alone and in its place."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.events.forwarder import MAX_EVENTS_PER_SIGNAL, PendingSignal, signal_groups
from models.tables import EventSignal

AT = datetime(2026, 11, 23, tzinfo=UTC)


def rows(*signals: EventSignal) -> list[PendingSignal]:
    return [PendingSignal(i, "wf", s, {}, 0, AT) for i, s in enumerate(signals, start=1)]


def ids(groups: list[list[PendingSignal]]) -> list[list[int]]:
    return [[p.id for p in group] for group in groups]


def test_consecutive_events_share_a_signal_and_control_signals_keep_their_place() -> None:
    E, C, P, R = EventSignal.ENGAGEMENT, EventSignal.CANCEL, EventSignal.PAUSE, EventSignal.RESUME
    groups = signal_groups(rows(E, E, P, E, R, R, E, E, E, C))
    assert ids(groups) == [[1, 2], [3], [4], [5], [6], [7, 8, 9], [10]]


def test_a_long_run_of_events_is_cut_at_the_cap() -> None:
    n = MAX_EVENTS_PER_SIGNAL * 2 + 1
    groups = signal_groups(rows(*[EventSignal.ENGAGEMENT] * n))
    assert [len(g) for g in groups] == [MAX_EVENTS_PER_SIGNAL, MAX_EVENTS_PER_SIGNAL, 1]
    assert [p.id for g in groups for p in g] == list(range(1, n + 1))


def test_nothing_pending_is_no_signal() -> None:
    assert signal_groups([]) == []
