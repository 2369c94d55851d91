"""Settings refuse what would fail later or quietly: a notification URL without the secret that
signs every post, or one that is not http(s)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.settings import Settings


def test_notifications_need_their_secret_and_an_http_url() -> None:
    with pytest.raises(ValidationError, match="NURTURE_NOTIFY_SECRET is required"):
        Settings(notify_url="https://crm.example.com/hooks/nurture")
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(notify_url="ftp://crm.example.com/", notify_secret="s" * 32)
    configured = Settings(notify_url="https://crm.example.com/hooks", notify_secret="s" * 32)
    assert configured.notify_url == "https://crm.example.com/hooks"
    assert Settings().notify_url == ""  # off by default: nobody is notified
