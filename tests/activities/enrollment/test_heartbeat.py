"""`heartbeating()` on `ActivityEnvironment` (a synchronous activity, heartbeats seen through
`on_heartbeat`), and `send_step` heartbeating while the database keeps it waiting."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio import activity
from temporalio.exceptions import CancelledError
from temporalio.testing import ActivityEnvironment

from activities.enrollment import activities as enrollment_activities
from activities.enrollment.activities import SEND_HEARTBEAT_INTERVAL, EnrollmentActivities
from activities.enrollment.heartbeat import heartbeating
from models.enrollment import SendStatus
from tests.factories import make_contact, make_sender, sending_service, step_input
from tests.sim_fixtures import SIM_API_KEY

FAST = timedelta(milliseconds=10)
#: Long enough that only a prompt stop (not the next beat) can end the block in time.
SLOW = timedelta(hours=1)
#: How long a test waits for something that should take milliseconds.
PATIENCE = 10.0


class Beats:
    """Records heartbeats (`env.on_heartbeat`): how many, from which thread; `wait_for(n)`."""

    def __init__(self, fail: bool = False) -> None:
        self.threads: list[threading.Thread] = []
        self._fail = fail
        self._changed = threading.Condition()

    def __call__(self, *details: Any) -> None:
        with self._changed:
            self.threads.append(threading.current_thread())
            self._changed.notify_all()
        if self._fail:
            raise RuntimeError("event loop gone")

    def wait_for(self, count: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.threads) >= count, PATIENCE)

    def assert_no_more(self) -> None:
        """No heartbeat comes any more: none in the next ten FAST intervals."""
        seen = len(self.threads)
        time.sleep(FAST.total_seconds() * 10)
        assert len(self.threads) == seen


def env_with(beats: Beats) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.on_heartbeat = beats
    return env


def test_heartbeats_continue_while_the_activity_thread_is_blocked():
    beats = Beats()

    def activity_body() -> threading.Thread:
        with heartbeating(FAST):
            # Blocked until three heartbeats came: only another thread can have sent them.
            assert beats.wait_for(3)
        return threading.current_thread()

    activity_thread = env_with(beats).run(activity_body)

    assert len(beats.threads) >= 3
    assert activity_thread not in beats.threads
    assert {t.name for t in beats.threads} == {"heartbeat-pacer"}
    beats.assert_no_more()


def test_a_block_shorter_than_the_interval_never_heartbeats_and_ends_at_once():
    beats = Beats()

    def activity_body() -> None:
        with heartbeating(SLOW):
            pass

    started = time.monotonic()
    env_with(beats).run(activity_body)

    assert time.monotonic() - started < PATIENCE  # not the hour of the interval
    assert beats.threads == []


def test_one_pacer_thread_beats_for_every_block_at_once():
    beats = [Beats() for _ in range(4)]

    def body(mine: Beats) -> threading.Thread:
        with heartbeating(FAST):
            assert mine.wait_for(3)
        return threading.current_thread()

    with ThreadPoolExecutor(4) as pool:
        activity_threads = list(pool.map(lambda b: env_with(b).run(body, b), beats))
    pacers = {t for b in beats for t in b.threads}

    assert len(pacers) == 1
    assert not pacers & set(activity_threads)
    for each in beats:
        each.assert_no_more()


def test_an_exception_in_the_block_propagates_and_the_thread_stops():
    beats = Beats()

    def activity_body() -> None:
        with heartbeating(FAST):
            assert beats.wait_for(1)
            raise LookupError("contact vanished")

    with pytest.raises(LookupError, match="contact vanished"):
        env_with(beats).run(activity_body)
    beats.assert_no_more()


def test_heartbeats_stop_once_the_activity_is_cancelled_even_inside_the_block():
    beats = Beats()
    env = env_with(beats)
    stopped_inside: list[bool] = []

    def activity_body() -> None:
        # Shielded: the cancellation is raised only at the shield's end (instead of anything
        # raised inside), so the block is still running when the pacer must notice it alone.
        with heartbeating(FAST), activity.shield_thread_cancel_exception():
            assert beats.wait_for(1)
            env.cancel()
            time.sleep(FAST.total_seconds() * 3)  # a heartbeat in flight at the cancel lands
            seen = len(beats.threads)
            time.sleep(FAST.total_seconds() * 10)
            stopped_inside.append(len(beats.threads) == seen)

    with pytest.raises(CancelledError):
        env.run(activity_body)
    assert stopped_inside == [True]


def test_a_failing_heartbeat_is_logged_and_neither_fails_nor_ends_the_block(caplog):
    beats = Beats(fail=True)

    def activity_body() -> str:
        with heartbeating(FAST):
            assert beats.wait_for(3)  # still beating after the first failure
        return "sent"

    with caplog.at_level(logging.WARNING):
        assert env_with(beats).run(activity_body) == "sent"
    beats.assert_no_more()
    failures = [r for r in caplog.records if r.getMessage().startswith("heartbeat not recorded")]
    assert failures
    assert failures[0].error == "RuntimeError"  # type: ignore[attr-defined]


def test_heartbeating_outside_an_activity_is_refused():
    with pytest.raises(RuntimeError, match="inside an activity"), heartbeating(FAST):
        pass


def test_a_non_positive_interval_is_refused():
    def activity_body() -> None:
        with heartbeating(timedelta()):
            pass

    with pytest.raises(ValueError, match="positive"):
        env_with(Beats()).run(activity_body)


def test_send_step_heartbeats_well_within_the_workflows_heartbeat_timeout():
    # The SDK sends at most one heartbeat per 0.8 × the timeout; beats of the interval must
    # leave one waiting each time, with room for a slow event loop.
    from workflows.engine import SEND_HEARTBEAT_TIMEOUT, SEND_START_TO_CLOSE

    assert SEND_HEARTBEAT_INTERVAL * 3 <= SEND_HEARTBEAT_TIMEOUT * 0.8
    assert SEND_HEARTBEAT_TIMEOUT <= SEND_START_TO_CLOSE / 4


def test_send_step_heartbeats_while_the_database_keeps_it_waiting(
    engine: sa.Engine, sim: Any, monkeypatch: pytest.MonkeyPatch
):
    if engine.dialect.name != "sqlite":
        pytest.skip("holds SQLite's write lock")
    make_sender(engine)
    contact = make_contact(engine)
    activities = EnrollmentActivities(engine, sending_service(engine, sim.url, SIM_API_KEY))
    monkeypatch.setattr(enrollment_activities, "SEND_HEARTBEAT_INTERVAL", FAST)
    beats = Beats()
    assert engine.url.database is not None
    with ThreadPoolExecutor(1) as pool:
        lock = sqlite3.connect(engine.url.database, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # another writer: the send's writes queue behind it
            sending = pool.submit(env_with(beats).run, activities.send_step, step_input(contact))
            assert beats.wait_for(5)
            assert not sending.done()
        finally:
            lock.close()  # rolls back: the send step may write
        result = sending.result(PATIENCE)

    assert result.status == SendStatus.SENT
    beats.assert_no_more()
