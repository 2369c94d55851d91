"""Tests of activities/deliverability/."""
