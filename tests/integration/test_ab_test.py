"""A cohort with an A/B test of its intro and a holdout, on real processes: the sample gets both
variants through the real send path, the simulator plays back opens, clicks and replies, the
launch calls the winner on reply quality — an opt-out reply counts against a variant, opens never
count — and the rest of the cohort then gets the winner; the holdout gets nothing."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlmodel import col, select

import worker as worker_module
from models.db import get_engine, session_scope
from models.enrollment import EnrollmentState, EnrollmentStatus
from models.tables import CohortMember, Enrollment, MemberStatus, Message, MessageStatus
from models.temporal_client import connect
from models.wire import STATE_QUERY
from tests.factories import make_contact, make_sender
from tests.integration.enrollments import SLOW
from tests.integration.live_api import script, until

MEMBERS, PER_VARIANT = 24, 4
QUESTION_SUBJECT = "Question about your AT sourcing this season"


def sent_intros(engine) -> list[Message]:
    with session_scope(engine) as s:
        return list(
            s.exec(
                select(Message).where(Message.step == "intro", Message.status == MessageStatus.SENT)
            ).all()
        )


async def test_reply_quality_winner_goes_to_the_rest_and_the_holdout_gets_nothing(loop_stack):
    settings, sim, api_url = loop_stack
    engine = get_engine(settings.database_url)
    make_sender(engine, warmup_start=200, domain_hourly_cap=100)
    contacts = [
        make_contact(engine, email=f"ab{i}@buyer{i}.example.at", country="AT")
        for i in range(MEMBERS)
    ]
    email_of = {c.id: c.email for c in contacts}
    auth = {"Authorization": f"Bearer {settings.api_token}"}
    client = await connect(settings)
    with ThreadPoolExecutor(8) as pool:
        async with (
            worker_module.build_worker(client, settings, engine, executor=pool),
            httpx.AsyncClient(base_url=api_url, headers=auth, timeout=30) as api,
        ):
            started = await api.post(
                "/api/cohorts",
                json={
                    "name": "A/B intro",
                    "sequence": "trade_intro",
                    "segment": "country=AT",
                    "params": SLOW,
                    "send_windows": False,
                    "holdout": 0.25,
                    "ab_test": {
                        "step": "intro",
                        "sample_per_variant": PER_VARIANT,
                        "min_sample": 3,
                        "window": "PT8S",
                    },
                },
            )
            assert started.status_code == 201, started.text
            body = started.json()
            cohort_id = body["cohort_id"]
            assert body["ab_variants"] == ["control", "question"]
            assert 0 < body["holdout"] < MEMBERS - 2 * PER_VARIANT

            with session_scope(engine) as s:
                members = s.exec(
                    select(CohortMember).where(CohortMember.cohort_id == cohort_id)
                ).all()
                held = {m.contact_id for m in members if m.status == MemberStatus.HOLDOUT}
                sample = {m.contact_id: m.variant for m in members if m.variant}
            assert len(held) == body["holdout"]
            assert sorted(sample.values()).count("control") == PER_VARIANT
            assert sorted(sample.values()).count("question") == PER_VARIANT
            assert not held & set(sample)
            rest = set(email_of) - held - set(sample)

            # The sample's intros go out; the rest wait for the winner, unsent.
            await until(
                lambda: asyncio.to_thread(sent_intros, engine),
                lambda m: len(m) == 2 * PER_VARIANT,
                seconds=60,
            )
            with session_scope(engine) as s:
                rest_workflows = s.exec(
                    select(Enrollment.workflow_id).where(col(Enrollment.contact_id).in_(list(rest)))
                ).all()
            assert len(rest_workflows) == len(rest)
            waiting = await until(
                lambda: client.get_workflow_handle(rest_workflows[0]).query(
                    STATE_QUERY, result_type=EnrollmentState
                ),
                lambda st: st.status == EnrollmentStatus.WAITING_FOR_WINNER,
            )
            assert waiting.steps_sent == []

            # Control draws more opens and clicks, and as many human replies — but one of its
            # two asks to be removed; both of the question variant's ask for more.
            by_variant: dict[str, list[str]] = {"control": [], "question": []}
            for message in sent_intros(engine):
                assert message.variant == sample[message.contact_id]
                by_variant[message.variant].append(message.id)
            control, question = by_variant["control"], by_variant["question"]
            for message_id in control:
                await script(sim, message_id=message_id, event="open")
            await script(sim, message_id=control[0], event="click", url="https://example.com/s")
            await script(sim, message_id=control[1], event="click", url="https://example.com/s")
            await script(sim, message_id=control[2], reply={"text": "Send the quotation."})
            await script(
                sim,
                message_id=control[3],
                reply={"text": "Bitte nehmen Sie mich aus Ihrem Verteiler."},
            )
            await script(sim, message_id=control[0], reply={"auto": True})
            await script(sim, message_id=question[0], reply={"text": "Yes, please quote 500 pcs."})
            await script(
                sim, message_id=question[1], reply={"text": "Could you call me on Monday?"}
            )

            async def funnel():
                return (await api.get(f"/api/cohorts/{cohort_id}")).json()

            decided = await until(funnel, lambda f: f["ab_test"]["winner"], seconds=60)
            ab = decided["ab_test"]
            assert ab["winner"] == "question", ab
            assert "reply quality 2/4" in ab["reason"], ab
            figures = ab["figures"]
            assert (
                figures["control"]["replied_human"],
                figures["control"]["replied_interested"],
                figures["control"]["replied_negative"],
            ) == (1, 1, 1)  # the opt-out reply is an unsubscribe: not counted as a reply
            assert (figures["question"]["replied_human"], figures["question"]["reply_score"]) == (
                2,
                2,
            )

            # The rest get the winner; nobody held out gets anything.
            await until(
                lambda: asyncio.to_thread(sent_intros, engine),
                lambda m: len(m) == 2 * PER_VARIANT + len(rest),
                seconds=60,
            )
            await asyncio.sleep(0.5)  # anything that should not come would come now
            intro_ids = {m.id for m in sent_intros(engine)}
            intros = {
                m.recipient: m
                for m in sim.store.messages()
                if m.custom_args["nurture_message_id"] in intro_ids
            }
            assert len(intros) == 2 * PER_VARIANT + len(rest)
            # Besides the intros: the offers the two clicks brought forward (trade_intro).
            assert len(sim.store.messages()) == len(intros) + 2
            for contact_id in rest:
                assert intros[email_of[contact_id]].subject == QUESTION_SUBJECT
            mailed = {m.recipient for m in sim.store.messages()}
            assert not mailed & {email_of[c] for c in held}
            with session_scope(engine) as s:
                assert not s.exec(
                    select(Enrollment).where(col(Enrollment.contact_id).in_(list(held)))
                ).all()

            final = await funnel()
            rows = {(r["step"], r["variant"]): r["counts"] for r in final["steps"]}
            assert rows["intro", "control"]["sent"] == PER_VARIANT
            assert rows["intro", "control"]["opened_human"] == PER_VARIANT
            assert rows["intro", "question"]["sent"] == PER_VARIANT + len(rest)
            assert final["holdout"] == len(held)

            await api.post(f"/api/cohorts/{cohort_id}/cancel", json={"reason": "test over"})
