"""`quote_followup`, the second reference sequence: started by a `quote_requested` business event,
it answers the request and follows the quote up until the buyer orders or the quote expires.

Flow (timings are `QuoteFollowupParams` fields, in the contact's business days):

1. Send ``quote`` (the quote summary) at once, outside the send window too: it answers the
   buyer's own request, which is not cold outreach.
2. Unless the buyer clicks the quote within ``follow_up_business_days`` (2), send ``follow_up`` in
   the quote's thread. (A human reply has ended the enrollment ``replied`` by then.)
3. Read the quote's ``valid_until`` (an ISO date) from the triggering event and send a last
   ``reminder`` in the thread ``reminder_business_days`` (2) business days before it, at the
   send window's opening. No reminder when ``valid_until`` is absent or not a date, or when
   that moment has already passed once the follow-up phase is over (a quote valid for only a few
   days: the follow-up was the reminder).
4. Complete.

An ``order_placed`` business event (the goal) ends the enrollment ``converted`` at once, even
mid-wait; a reply, an unsubscribe, a complaint or a hard bounce end it as in every sequence.

The templates (``quote_followup/quote``, ``follow_up``, ``reminder``, each with a German
``.de`` variant) show the event's properties ``product``, ``quote_number`` and ``valid_until``
as ``event.*``, with a fallback for each. Only a ``quote_requested`` event starts it: an
enrollment without one (a cohort, ``POST /api/enrollments``) ends ``cancelled`` before sending
anything (`requires_trigger`), because the quote it follows up is that event.
"""

from __future__ import annotations

from datetime import date, datetime

from temporalio import workflow

from workflows import EventKind, Reenrollment, Sequence, Trigger, sequence

with workflow.unsafe.imports_passed_through():
    from models.calendar import ContactCalendar, SendWindow
    from models.quote_followup import QuoteFollowupParams, valid_until_date
    from workflows.calendar import business_days_before


def reminder_time(
    valid_until: date, business_days: int, calendar: ContactCalendar, window: SendWindow
) -> datetime:
    """When the last reminder is due: the opening of the send window, in the contact's zone, on
    the business day `business_days` business days before `valid_until`."""
    day = business_days_before(valid_until, business_days, calendar.country)
    return datetime.combine(day, window.start, tzinfo=calendar.zone)


@sequence("quote_followup")
class QuoteFollowupSequence(Sequence[QuoteFollowupParams]):
    """quote (at once) → follow-up unless clicked → reminder before the quote expires; an order
    converts."""

    triggers = (Trigger("quote_requested"),)
    requires_trigger = True
    goals = {"order_placed"}
    #: Each new quote request may start it again once the previous one has ended.
    reenrollment = Reenrollment.after_completion()

    async def steps(self) -> None:
        p = self.params
        quote = await self.send("quote", send_window=False)

        clicked = await self.wait_for(
            EventKind.CLICK,
            on=quote,
            until=self.business_days_after(quote.sent_at, p.follow_up_business_days),
        )
        if clicked is None:
            await self.send("follow_up", reply_to=quote)

        assert self.trigger is not None  # requires_trigger: enroll() ended it otherwise
        valid_until = valid_until_date(await self.event_property(self.trigger, "valid_until"))
        if valid_until is None:
            return
        remind_at = reminder_time(
            valid_until, p.reminder_business_days, self.calendar, self.send_window
        )
        if remind_at <= workflow.now():
            return
        await self.wait(until=remind_at)
        await self.send("reminder", reply_to=quote)


__all__ = ["QuoteFollowupParams", "QuoteFollowupSequence", "reminder_time"]
