"""One item of an ESP event webhook batch, parsed: the engagement event plus what correlates it.

Only `event` may travel to a workflow; `email` is for finding the enrollment and stays in the API.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from models.events import EngagementEvent

#: `EspEvent.esp_type` of a batch item that is not a JSON object.
INVALID_ESP_TYPE = "invalid"


class EspEvent(BaseModel):
    """A SendGrid Event Webhook item, normalised; ids are validated, free text bounded."""

    model_config = ConfigDict(frozen=True)

    event: EngagementEvent | None = Field(
        description="The engagement event; None for event types nurture ignores or does not know."
    )
    esp_type: str = Field(
        description="SendGrid's event name (at most 64 characters), or 'invalid' for a non-object."
    )
    esp_event_id: str | None = Field(None, description="sg_event_id, for deduplication.")
    message_id: str | None = Field(
        None, description="Custom arg nurture_message_id, when it is a UUID."
    )
    workflow_id: str | None = Field(
        None, description="Custom arg nurture_workflow_id, when shaped nurture/<sequence>/<uuid>."
    )
    sg_message_id: str | None = Field(
        None, description="SendGrid's per-recipient id: '{X-Message-Id}.filter...'."
    )
    smtp_id: str | None = Field(None, description="The smtp-id, e.g. '<local@host>'.")
    email: str | None = Field(
        None, description="The recipient: for correlation only, never copied into `event`."
    )
    occurred_at: datetime = Field(description="When it happened (UTC); receipt time if unknown.")
    details: dict[str, str | int | bool] = Field(
        default_factory=dict,
        description="Non-personal details worth keeping (reason, status, url...); addresses redacted.",
    )

    @property
    def is_invalid(self) -> bool:
        return self.esp_type == INVALID_ESP_TYPE


__all__ = ["INVALID_ESP_TYPE", "EspEvent"]
