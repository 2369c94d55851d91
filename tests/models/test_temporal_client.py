"""How the settings reach Temporal: plain for the dev server, TLS with an API key or a client
certificate for Temporal Cloud, a custom root CA for a self-hosted cluster; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from models.errors import InvalidInput
from models.settings import Settings
from models.temporal_client import security_options


def test_dev_server_is_plain() -> None:
    assert security_options(Settings()) == {}


def test_api_key_implies_tls() -> None:
    options = security_options(Settings(temporal_api_key="cloud-key"))
    assert options == {"tls": True, "api_key": "cloud-key"}
    assert security_options(Settings(temporal_tls=True)) == {"tls": True}


def test_client_certificate_and_root_ca_are_read_from_files(tmp_path: Path) -> None:
    cert, key, ca = tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    ca.write_bytes(b"CA")
    options = security_options(
        Settings(
            temporal_tls_cert=cert,
            temporal_tls_key=key,
            temporal_tls_ca=ca,
            temporal_tls_server_name="temporal.internal",
        )
    )
    tls = options["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (
        b"CERT",
        b"KEY",
        b"CA",
    )
    assert tls.domain == "temporal.internal"
    assert "api_key" not in options


def test_half_a_certificate_or_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="both NURTURE_TEMPORAL_TLS_CERT and"):
        security_options(Settings(temporal_tls_cert=tmp_path / "client.pem"))
    with pytest.raises(InvalidInput, match=r"cannot read .*missing\.pem"):
        security_options(
            Settings(temporal_tls_cert=tmp_path / "missing.pem", temporal_tls_key=tmp_path / "k")
        )


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_TEMPORAL_ADDRESS", "acme.a1b2c.tmprl.cloud:7233")
    monkeypatch.setenv("NURTURE_TEMPORAL_NAMESPACE", "acme.a1b2c")
    monkeypatch.setenv("NURTURE_TEMPORAL_API_KEY", "key-from-env")
    settings = Settings()
    assert settings.temporal_namespace == "acme.a1b2c"
    assert security_options(settings) == {"tls": True, "api_key": "key-from-env"}
