"""`northwind_welcome`: thanks a new sign-up at once, then checks in a week later."""

from __future__ import annotations

from workflows import Sequence, sequence


@sequence("northwind_welcome")
class NorthwindWelcome(Sequence):
    """hello (now: it answers the contact's own sign-up) → check_in a week later."""

    async def steps(self) -> None:
        await self.send("hello", send_window=False)
        await self.wait(days=7)
        await self.send("check_in")


__all__ = ["NorthwindWelcome"]
