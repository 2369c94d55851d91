"""Sender health through the webhook: complaints, hard bounces and bursts of blocks pause the
sender once past their bounds, with the reason and figures kept; below them nothing happens."""

from __future__ import annotations

from sqlmodel import select

from activities.deliverability.sender_health import resume
from models.db import session_scope
from models.tables import Sender
from tests.factories import make_contact, make_sender, make_sent_message, sendgrid_event


def sent_messages(engine, n: int):
    return [make_sent_message(engine, make_contact(engine)) for _ in range(n)]


def sender(engine) -> Sender:
    with session_scope(engine) as s:
        return s.exec(select(Sender)).one()


def test_a_complaint_at_or_over_0_1_percent_pauses_the_sender(poster, api_engine):
    make_sender(api_engine)
    messages = sent_messages(api_engine, 20)
    poster.post([sendgrid_event("spamreport", messages[0])])
    paused = sender(api_engine)
    assert paused.paused_at is not None
    assert "complaint rate" in paused.paused_reason
    assert paused.pause_figures["complaints"] == 1
    assert paused.pause_figures["sent"] == 20


def test_hard_bounces_under_two_percent_do_not_pause_but_at_two_percent_do(poster, api_engine):
    make_sender(api_engine)
    messages = sent_messages(api_engine, 100)
    poster.post([sendgrid_event("bounce", messages[0], status="5.1.1", type="bounce")])
    assert sender(api_engine).paused_at is None  # 1 %
    poster.post([sendgrid_event("bounce", messages[1], status="5.1.1", type="bounce")])
    paused = sender(api_engine)
    assert paused.paused_at is not None
    assert "hard-bounce rate 2.00%" in paused.paused_reason


def test_a_burst_of_blocks_pauses_the_sender(poster, api_engine):
    make_sender(api_engine)
    messages = sent_messages(api_engine, 500)
    for m in messages[:4]:
        poster.post([sendgrid_event("bounce", m, status="5.7.1", type="blocked")])
    assert sender(api_engine).paused_at is None
    poster.post([sendgrid_event("bounce", messages[4], status="5.7.1", type="blocked")])
    assert "blocks" in sender(api_engine).paused_reason


def test_opens_and_soft_bounces_never_pause(poster, api_engine):
    make_sender(api_engine)
    messages = sent_messages(api_engine, 3)
    poster.post([sendgrid_event("open", m) for m in messages])
    poster.post([sendgrid_event("bounce", m, status="4.2.2", type="bounce") for m in messages])
    assert sender(api_engine).paused_at is None


def test_resume_clears_the_pause(poster, api_engine):
    make_sender(api_engine)
    messages = sent_messages(api_engine, 5)
    poster.post([sendgrid_event("spamreport", messages[0])])
    with session_scope(api_engine) as s:
        resume(s, s.exec(select(Sender)).one())
    assert sender(api_engine).paused_at is None
    assert sender(api_engine).pause_figures is None
