"""The SendGrid-compatible ESP simulator: accepts `POST /v3/mail/send`, keeps what it received."""

from simulator.app import MAX_BODY_BYTES, create_app
from simulator.faults import FaultQueue, FaultSpec
from simulator.server import SimulatorServer, running_simulator
from simulator.store import MessageCallback, ReceivedMessage, RecipientType, SimulatorStore

__all__ = [
    "MAX_BODY_BYTES",
    "FaultQueue",
    "FaultSpec",
    "MessageCallback",
    "ReceivedMessage",
    "RecipientType",
    "SimulatorServer",
    "SimulatorStore",
    "create_app",
    "running_simulator",
]
