"""Tests of activities/cohorts/."""
