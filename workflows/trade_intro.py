"""`trade_intro`, the reference sequence: an export-trade introduction that follows up on what the
contact does.

Flow (every timing is a `TradeIntroParams` field, given in `EnrollmentInput.params`):

1. Send ``intro``.
2. Wait up to ``open_window`` (2 days) for a human open or a click of the intro. Nothing by then:
   send a short ``bump`` in the intro's thread (``Re:``, In-Reply-To the intro).
3. A click on the intro at any time before the case study is due brings the offer forward:
   send ``offer`` right away and complete, skipping the case study.
4. Otherwise, ``case_study_after`` (4 days) after the intro, send ``case_study``; wait
   ``offer_after`` (4 days) and send ``offer``; complete.

A human reply ends the enrollment ``replied``, an unsubscribe ``unsubscribed``, a hard bounce
``bounced``, a complaint ``complained``, a booked meeting or a placed order (business events
``meeting_booked``, ``order_placed``: the goals) ``converted`` — at once, even mid-wait (the
`Sequence` base does that).
Machine opens (Apple MPP) and auto-replies are not engagement. Templates: ``trade_intro/intro``,
``trade_intro/bump``, ``trade_intro/case_study``, ``trade_intro/offer``.
"""

from __future__ import annotations

from temporalio import workflow

from workflows import EventKind, Reenrollment, Sequence, sequence

# Its params model lives outside the sandbox: built once per worker, not once per workflow run.
with workflow.unsafe.imports_passed_through():
    from models.trade_intro import TradeIntroParams


@sequence("trade_intro")
class TradeIntroSequence(Sequence[TradeIntroParams]):
    """intro → (bump if unopened) → case study → offer; a click on the intro jumps to the offer."""

    stop_company_on_reply = True
    #: The buyer booked a meeting or ordered: the sequence did its job, no further mail. (Stored
    #: histories replay: the signal handler checks goals, and no history holds a business event.)
    goals = {"meeting_booked", "order_placed"}
    #: A buyer who went through the whole sequence may hear from us again next season.
    reenrollment = Reenrollment.after_days(180)

    async def steps(self) -> None:
        p = self.params
        intro = await self.send("intro")
        case_study_due = intro.sent_at + p.case_study_after

        engaged = await self.wait_for(
            {EventKind.OPEN, EventKind.CLICK}, on=intro, within=p.open_window
        )
        if engaged is None:
            await self.send("bump", reply_to=intro)

        clicked = engaged is not None and engaged.kind == EventKind.CLICK
        if not clicked:
            click = await self.wait_for(EventKind.CLICK, on=intro, until=case_study_due)
            clicked = click is not None
        if clicked:
            await self.send("offer")
            return

        await self.send("case_study")
        await self.wait(p.offer_after)
        await self.send("offer")


__all__ = ["TradeIntroParams", "TradeIntroSequence"]
