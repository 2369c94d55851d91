"""Changed versions of `trade_intro` under its own workflow type, as a developer would edit
`workflows/trade_intro.py` on disk: both send the case study right after the intro, before the
first wait — one unpatched, one behind `workflow.patched`. The replay check test replays live
enrollments against them (the sandbox re-imports this module for each run)."""

from __future__ import annotations

from temporalio import workflow

from workflows import EventKind, Step, sequence
from workflows.trade_intro import TradeIntroSequence

#: The patch the careful version guards its change with.
EARLY_CASE_STUDY_PATCH = "early-case-study"


class _ChangedTradeIntro(TradeIntroSequence):
    """`TradeIntroSequence.steps` with `_after_intro` called between the intro and the wait."""

    async def _after_intro(self, intro: Step) -> None:
        raise NotImplementedError

    async def steps(self) -> None:
        p = self.params
        intro = await self.send("intro")
        await self._after_intro(intro)
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


@sequence("trade_intro")
class UnpatchedTradeIntro(_ChangedTradeIntro):
    """Sends a second email right after the intro, unpatched: live enrollments break."""

    async def _after_intro(self, intro: Step) -> None:
        await self.send("case_study", reply_to=intro)


@sequence("trade_intro")
class PatchedTradeIntro(_ChangedTradeIntro):
    """The same change behind `workflow.patched`: enrollments already past the intro keep the
    old flow, new ones take the new one."""

    async def _after_intro(self, intro: Step) -> None:
        if workflow.patched(EARLY_CASE_STUDY_PATCH):
            await self.send("case_study", reply_to=intro)
