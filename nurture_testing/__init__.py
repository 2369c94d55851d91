"""nurture's harness for testing sequences on the time-skipping Temporal test server — the real
workflow code, in-memory activities, events delivered as the forwarder delivers them::

    from nurture_testing import simulate

    async def test_click_brings_the_offer_forward() -> None:
        timeline = await simulate("trade_intro", events="click@3d", country="DE")
        assert timeline.steps == ["intro", "bump", "offer"]

`simulate` returns a `Timeline` (`steps`, `entries`, `rows()`, `outcome`, `changed_by()`, a Rich
`table()`); `nurture simulate` prints the same. For tests that drive an enrollment step by step:
`start_env` (the test server), `FakeSender` (the recording `send_step` and the stand-ins for
`finish_enrollment` and `event_property`), `engagement_event` / `business_event` (events as
signalled).
"""

from nurture_testing.activities import FakeSender
from nurture_testing.events import PlannedEvent, business_event, engagement_event, parse_events
from nurture_testing.server import start_env
from nurture_testing.simulation import SimulationError, Timeline, TimelineEntry, simulate

__all__ = [
    "FakeSender",
    "PlannedEvent",
    "SimulationError",
    "Timeline",
    "TimelineEntry",
    "business_event",
    "engagement_event",
    "parse_events",
    "simulate",
    "start_env",
]
