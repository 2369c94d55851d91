"""Tests of activities/contacts/."""
