"""Cohorts: starting and steering one (`service`), the launch's Temporal activities
(`activities`), A/B tests of a step (`ab_testing`), and the `funnel` with the event metrics it
and the A/B decision share (`event_metrics`)."""
