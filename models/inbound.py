"""The inbound email: one received mail (a reply, an out-of-office, ...) as nurture needs it.

It holds personal data (addresses, names, text): correlate it to a message id in the API or an
activity and pass only ids on; an `InboundMessage` never enters a workflow payload.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field


class InboundMessage(BaseModel):
    """One email posted to the inbound domain, normalised from either Inbound Parse mode."""

    from_email: str | None = Field(None, description="Sender address, lower case.")
    from_name: str | None = Field(None, description="Sender display name, decoded.")
    to: list[str] = Field(
        default_factory=list,
        description="Every recipient (To, Cc, envelope), lower case, deduplicated, in order.",
    )
    subject: str = ""
    text: str = Field(
        "", description="Plain body, \\n newlines, trimmed; from the HTML part if there is no text."
    )
    new_text: str = Field(
        "", description="`text` without the quoted part of a reply (what the person wrote now)."
    )
    message_id: str | None = Field(None, description="This mail's Message-ID, with <>.")
    in_reply_to: list[str] = Field(default_factory=list, description="Message-IDs, with <>.")
    references: list[str] = Field(default_factory=list, description="Message-IDs, oldest first.")
    reply_tokens: list[str] = Field(
        default_factory=list, description="TOKEN of every reply+TOKEN@ recipient, lower case."
    )
    auto_reply: bool = False
    auto_reply_reason: str | None = Field(None, description="The signal that matched.")
    return_date: date | None = Field(None, description="When an out-of-office says they are back.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="The headers nurture read, by canonical name."
    )

    def referenced_message_ids(self) -> list[str]:
        """The Message-IDs this mail answers, nearest first: In-Reply-To, then References
        newest to oldest, without duplicates."""
        seen: dict[str, None] = {}
        for message_id in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(message_id, None)
        return list(seen)

    def referenced_uuids(self) -> list[str]:
        """Like `referenced_message_ids`, but only ids of the form `<uuid@domain>` (ours), as the
        canonical UUID string; the API still checks that a message with that id exists."""
        found: dict[str, None] = {}
        for message_id in self.referenced_message_ids():
            local = message_id.strip("<>").partition("@")[0]
            try:
                found.setdefault(str(UUID(local)), None)
            except ValueError:
                continue
        return list(found)


__all__ = ["InboundMessage"]
