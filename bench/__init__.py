"""Benchmarks, each printing its figures as one JSON document (see bench/README.md)."""

#: Benchmarks measure the engine, not the guardrails: a sender with no ramp and no throttle.
UNLIMITED = {
    "daily_cap": 10**9,
    "warmup_start": 10**9,
    "warmup_ceiling": 10**9,
    "domain_hourly_cap": 10**9,
}
