"""Names that travel on the wire and outlive a deploy: Temporal activity, workflow, signal and
query names (running histories hold them) and SendGrid `custom_args` keys (SendGrid keeps them
forever). Never rename one in place: add a new name and keep the old one for running histories."""

from __future__ import annotations

# --- Temporal activities -----------------------------------------------------------------------
SEND_STEP_ACTIVITY = "send_step"
FINISH_ENROLLMENT_ACTIVITY = "finish_enrollment"
#: Reads one property of a stored business event (`Sequence.event_property`).
EVENT_PROPERTY_ACTIVITY = "event_property"
LAUNCH_BATCH_ACTIVITY = "launch_batch"
FINISH_LAUNCH_ACTIVITY = "finish_cohort_launch"
#: The activity the cohort launch runs until a winner is called.
DECIDE_AB_ACTIVITY = "decide_ab_winner"
#: Deletes rows past NURTURE_EVENT_RETENTION_DAYS (the retention schedule's one activity).
PRUNE_EXPIRED_ROWS_ACTIVITY = "prune_expired_rows"
#: Checks every sender's DNS and stores the result (the DNS re-check schedule's one activity).
RECHECK_SENDER_DNS_ACTIVITY = "recheck_sender_dns"

# --- Temporal workflows (each sequence's workflow name is its sequence name) -------------------
COHORT_LAUNCH_WORKFLOW = "cohort_launch"
#: The maintenance workflows the worker's Temporal Schedules start daily.
RETENTION_PRUNE_WORKFLOW = "retention_prune"
SENDER_DNS_RECHECK_WORKFLOW = "sender_dns_recheck"

#: The cohort launch answers this query with its progress; it takes the sequences' pause, resume
#: and cancel signals below.
LAUNCH_PROGRESS_QUERY = "progress"

# --- signals and queries of every sequence workflow --------------------------------------------
EVENT_SIGNAL = "engagement_event"
#: Several engagement events for one workflow, in order, in one signal: what the forwarder sends
#: (one signal per workflow per pass: one history event and one workflow task, not one per event).
#: `EVENT_SIGNAL` (a single event) stays for running histories and direct callers.
EVENTS_SIGNAL = "engagement_events"
CANCEL_SIGNAL = "cancel"
#: Ops resumed a sender: steps held by a paused sender try again now (not at their next recheck).
SENDER_RESUMED_SIGNAL = "sender_resumed"
#: Ops hold an enrollment (cohort paused): nothing is sent until `resume`; waits go on meanwhile.
PAUSE_SIGNAL = "pause"
RESUME_SIGNAL = "resume"
#: The cohort's A/B winner is decided: a step waiting for it tries again now.
AB_DECIDED_SIGNAL = "ab_decided"
STATE_QUERY = "state"

# --- SendGrid custom_args keys: opaque ids only, SendGrid keeps custom args forever -------------
CUSTOM_ARG_MESSAGE_ID = "nurture_message_id"
CUSTOM_ARG_WORKFLOW_ID = "nurture_workflow_id"
#: The double opt-in confirmation email's id: nothing about the person.
CUSTOM_ARG_OPT_IN_ID = "nurture_opt_in_id"

__all__ = [
    "AB_DECIDED_SIGNAL",
    "CANCEL_SIGNAL",
    "COHORT_LAUNCH_WORKFLOW",
    "CUSTOM_ARG_MESSAGE_ID",
    "CUSTOM_ARG_OPT_IN_ID",
    "CUSTOM_ARG_WORKFLOW_ID",
    "DECIDE_AB_ACTIVITY",
    "EVENTS_SIGNAL",
    "EVENT_PROPERTY_ACTIVITY",
    "EVENT_SIGNAL",
    "FINISH_ENROLLMENT_ACTIVITY",
    "FINISH_LAUNCH_ACTIVITY",
    "LAUNCH_BATCH_ACTIVITY",
    "LAUNCH_PROGRESS_QUERY",
    "PAUSE_SIGNAL",
    "PRUNE_EXPIRED_ROWS_ACTIVITY",
    "RECHECK_SENDER_DNS_ACTIVITY",
    "RESUME_SIGNAL",
    "RETENTION_PRUNE_WORKFLOW",
    "SENDER_DNS_RECHECK_WORKFLOW",
    "SENDER_RESUMED_SIGNAL",
    "SEND_STEP_ACTIVITY",
    "STATE_QUERY",
]
