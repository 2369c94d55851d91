"""Fault tests: the stack's guarantees (at most one email per step, no event lost) while a
worker is killed, the Temporal dev server restarts, or the database goes away for a while."""
