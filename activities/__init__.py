"""Activities: every side effect (DB, SendGrid, DNS), as plain service objects that tests call
directly, wrapped as Temporal activities only in each room's `activities.py`.

    activities/
    ├── enrollment/      enrolling a contact, the send step (consent, quota, rendering, SendGrid),
    │                    ops control; activities.py: send_step, finish_enrollment
    ├── events/          webhook signature and parsing, bounces, inbound replies and auto-replies,
    │                    unsubscribing, storing events once, the outbox forwarder
    ├── contacts/        contact store, the consent rule, import and address checks, double
    │                    opt-in, GDPR export and erase
    ├── replies/         what a reply means: its new text, its intent (pluggable classifier),
    │                    the inbox, corrections, the notices interested replies queue
    ├── notifications/   the signed outgoing-webhook outbox and its dispatcher
    ├── cohorts/         cohort service, A/B tests, funnel; activities.py: the launch's activities
    └── deliverability/  senders, sender health, content lint, DNS checks

Where each concern lives and why: docs/architecture.md.
"""
