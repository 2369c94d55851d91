"""Turns an accepted v3 `mail/send` payload into one `ReceivedMessage` per recipient."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from simulator.store import ReceivedMessage, RecipientType

__all__ = ["expand_mail_send", "new_esp_message_id"]


def new_esp_message_id() -> str:
    """A random opaque id shaped like SendGrid's `X-Message-Id` (22 url-safe characters)."""
    return secrets.token_urlsafe(16)


def expand_mail_send(
    payload: dict[str, Any], esp_message_id: str, sent_at: datetime
) -> list[ReceivedMessage]:
    """The messages a validated payload sends, in payload order (personalization, to/cc/bcc).

    Each personalization's `from`, `subject`, `headers`, `custom_args` and `send_at`
    override the global ones, as SendGrid applies them.
    """
    text, html = _bodies(payload.get("content") or [])
    reply_to = payload.get("reply_to") or (payload.get("reply_to_list") or [None])[0] or {}
    messages: list[ReceivedMessage] = []
    for p_index, personalization in enumerate(payload["personalizations"]):
        sender = personalization.get("from") or payload["from"]
        common = {
            "esp_message_id": esp_message_id,
            "personalization_index": p_index,
            "from_email": sender["email"],
            "from_name": sender.get("name"),
            "reply_to": reply_to.get("email"),
            "reply_to_name": reply_to.get("name"),
            "subject": personalization.get("subject", payload.get("subject", "")),
            "text": text,
            "html": html,
            "headers": {**payload.get("headers", {}), **personalization.get("headers", {})},
            "custom_args": {
                **payload.get("custom_args", {}),
                **personalization.get("custom_args", {}),
            },
            "categories": list(payload.get("categories", [])),
            "template_id": payload.get("template_id"),
            "send_at": personalization.get("send_at", payload.get("send_at")),
            "sent_at": sent_at,
        }
        for kind in RecipientType:
            for recipient in personalization.get(kind.value, []):
                messages.append(
                    ReceivedMessage(
                        sg_message_id=_sg_message_id(esp_message_id, sent_at, len(messages)),
                        recipient=recipient["email"],
                        recipient_name=recipient.get("name"),
                        recipient_type=kind,
                        **common,
                    )
                )
    return messages


def _bodies(content: list[dict[str, str]]) -> tuple[str | None, str | None]:
    """The first text/plain and the first text/html value."""
    by_type: dict[str, str] = {}
    for block in content:
        by_type.setdefault(block["type"].strip().lower(), block["value"])
    return by_type.get("text/plain"), by_type.get("text/html")


def _sg_message_id(esp_message_id: str, sent_at: datetime, index: int) -> str:
    # SendGrid's shape: the X-Message-Id, then the filter node that processed the recipient.
    return f"{esp_message_id}.filterdrecv-sim-{int(sent_at.timestamp()):X}-{index}.0"
