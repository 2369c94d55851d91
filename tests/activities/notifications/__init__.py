"""Tests of activities/notifications/."""
