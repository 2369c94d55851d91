"""What the simulator received: one `ReceivedMessage` per recipient, kept in a thread-safe store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = ["MessageCallback", "ReceivedMessage", "RecipientType", "SimulatorStore"]

logger = logging.getLogger(__name__)


class RecipientType(StrEnum):
    """Which list of a personalization the recipient came from."""

    TO = "to"
    CC = "cc"
    BCC = "bcc"


class ReceivedMessage(BaseModel):
    """One accepted mail as one recipient would get it (personalization merged over globals)."""

    model_config = ConfigDict(frozen=True)

    esp_message_id: str
    """The `X-Message-Id` SendGrid answered the send call with (shared by its recipients)."""
    sg_message_id: str
    """This recipient's id as SendGrid's events carry it: `{esp_message_id}.filter...`."""
    recipient: str
    recipient_name: str | None
    recipient_type: RecipientType
    personalization_index: int
    from_email: str
    from_name: str | None
    reply_to: str | None
    reply_to_name: str | None
    subject: str
    text: str | None
    html: str | None
    headers: dict[str, str]
    custom_args: dict[str, str]
    categories: list[str]
    template_id: str | None
    send_at: int | None
    sent_at: datetime


MessageCallback = Callable[[ReceivedMessage], None]


class SimulatorStore:
    """In-memory list of received messages, oldest first, safe to share between threads.

    `on_message` callbacks run after each message is stored, on the server's event loop
    thread: they must not block (a scenario would schedule its webhook posts from there).
    """

    def __init__(self, on_message: Iterable[MessageCallback] = ()) -> None:
        self._lock = threading.Condition(threading.RLock())
        self._messages: list[ReceivedMessage] = []
        self._epoch = 0
        self.on_message: list[MessageCallback] = list(on_message)

    @property
    def epoch(self) -> int:
        """Bumped by `clear()`; a send remembers the epoch it started in."""
        with self._lock:
            return self._epoch

    def add(self, messages: Sequence[ReceivedMessage], *, epoch: int | None = None) -> bool:
        """Store `messages`; drop them if the store was cleared since `epoch` began.

        A slow send whose client already gave up must not land in the next test's store.
        """
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                return False
            self._messages.extend(messages)
            self._lock.notify_all()
        for message in messages:
            for callback in list(self.on_message):
                try:
                    callback(message)
                except Exception:
                    logger.exception(
                        "on_message callback failed sg_message_id=%s", message.sg_message_id
                    )
        return True

    def messages(
        self,
        *,
        recipient: str | None = None,
        esp_message_id: str | None = None,
        custom_args: Mapping[str, str] | None = None,
    ) -> list[ReceivedMessage]:
        """Stored messages, oldest first, narrowed by the given filters (all must match)."""
        with self._lock:
            found = list(self._messages)
        if recipient is not None:
            wanted = recipient.casefold()
            found = [m for m in found if m.recipient.casefold() == wanted]
        if esp_message_id is not None:
            found = [m for m in found if m.esp_message_id == esp_message_id]
        for key, value in (custom_args or {}).items():
            found = [m for m in found if m.custom_args.get(key) == value]
        return [m.model_copy(deep=True) for m in found]

    def wait_for(
        self,
        count: int = 1,
        *,
        timeout: float = 5.0,
        recipient: str | None = None,
        esp_message_id: str | None = None,
        custom_args: Mapping[str, str] | None = None,
    ) -> list[ReceivedMessage]:
        """Block until at least `count` messages match the filters; return them.

        Raises `TimeoutError` if they have not arrived within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        filters = {"recipient": recipient, "esp_message_id": esp_message_id}
        # The lock is re-entrant: checking under it means no notify is missed.
        with self._lock:
            while True:
                found = self.messages(**filters, custom_args=custom_args)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{len(found)} of {count} messages arrived within {timeout}s"
                    )
                self._lock.wait(remaining)

    def clear(self) -> None:
        """Forget every message, and any send still in flight."""
        with self._lock:
            self._messages.clear()
            self._epoch += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)
