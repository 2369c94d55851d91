"""The SendGrid-compatible ESP simulator: accepts `POST /v3/mail/send`, keeps what it received,
and by a scenario plays signed event webhooks and inbound replies back to nurture."""

from simulator.app import MAX_BODY_BYTES, create_app
from simulator.faults import FaultQueue, FaultSpec
from simulator.scenario import PRESETS, Scenario, StepRates, load_scenario
from simulator.server import SimulatorServer, running_simulator
from simulator.store import MessageCallback, ReceivedMessage, RecipientType, SimulatorStore
from simulator.webhooks import EventSigner, WebhookConfig, WebhookDispatcher, WebhooksDisabled

__all__ = [
    "MAX_BODY_BYTES",
    "PRESETS",
    "EventSigner",
    "FaultQueue",
    "FaultSpec",
    "MessageCallback",
    "ReceivedMessage",
    "RecipientType",
    "Scenario",
    "SimulatorServer",
    "SimulatorStore",
    "StepRates",
    "WebhookConfig",
    "WebhookDispatcher",
    "WebhooksDisabled",
    "create_app",
    "load_scenario",
    "running_simulator",
]
