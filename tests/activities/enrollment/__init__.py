"""Tests of activities/enrollment/."""
