"""Recurring upkeep the worker's Temporal Schedules start: the retention prune, the sender DNS
re-check, and the schedules themselves (created or updated at worker start)."""
