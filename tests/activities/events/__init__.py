"""Tests of activities/events/."""
