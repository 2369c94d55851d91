"""Re-enrollment rules: never, after completion, after N days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.reenrollment import Reenrollment

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_a_live_enrollment_is_never_joined_by_another():
    for rule in (Reenrollment.never(), Reenrollment.after_completion(), Reenrollment.after_days(0)):
        assert rule.refusal(None, NOW) == "an enrollment is still running"


def test_never_refuses_even_long_after():
    assert "never" in Reenrollment.never().refusal(NOW - timedelta(days=3650), NOW)


def test_after_completion_allows_once_ended():
    assert Reenrollment.after_completion().refusal(NOW - timedelta(seconds=1), NOW) is None


def test_after_days_counts_from_the_end_of_the_last_one():
    rule = Reenrollment.after_days(180)
    assert "180 days" in rule.refusal(NOW - timedelta(days=179), NOW)
    assert rule.refusal(NOW - timedelta(days=180), NOW) is None
