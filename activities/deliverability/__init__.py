"""Deliverability: sending identities (`senders`), `sender_health` (auto-pause on complaints and
bounces), `content_lint` before a cohort starts, and the sending domain's `dns` checks."""
