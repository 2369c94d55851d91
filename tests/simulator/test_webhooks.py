"""Event Webhook and Inbound Parse as the simulator posts them: signing, shapes, batching,
duplicates, reordering, retries, scripted events and replies."""

from __future__ import annotations

import base64
import email
import json
import socket
import time
from email.policy import default as default_policy
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid import SendGridAPIClient

from simulator import Scenario, SimulatorServer, running_simulator
from simulator.__main__ import parse_args
from tests.sim_fixtures import (
    EVENTS_PATH,
    INBOUND_PATH,
    SIM_API_KEY,
    WebhookReceiver,
    nurture_payload,
)

MESSAGE_ID = "3f1c0d2e-0000-4000-8000-000000000001"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def _send(server: SimulatorServer, payload: dict[str, Any] | None = None) -> str:
    """Send a nurture-shaped mail through the real client; return its X-Message-Id."""
    client = SendGridAPIClient(api_key=SIM_API_KEY, host=server.url)
    response = client.send(payload or nurture_payload(MESSAGE_ID))
    return str(response.headers["X-Message-Id"])


def _script(server: SimulatorServer, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/_sim/events", json=body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def _verify(public_key_b64: str, timestamp: str, body: bytes, signature_b64: str) -> None:
    key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(
        base64.b64decode(signature_b64),
        timestamp.encode("utf-8") + body,
        ec.ECDSA(hashes.SHA256()),
    )


# -- signing ---------------------------------------------------------------------------------


def test_event_batch_signature_verifies_with_published_key_over_timestamp_and_body(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    _send(sim_webhooks)
    _script(sim_webhooks, message_id=MESSAGE_ID, event="open")
    webhook_receiver.wait_for_events(1)

    [post] = webhook_receiver.posts(EVENTS_PATH)
    published = httpx.get(f"{sim_webhooks.url}/_sim/webhook-public-key").json()["public_key"]
    assert published == sim_webhooks.webhook_public_key
    timestamp = post.headers[TIMESTAMP]
    assert abs(int(timestamp) - time.time()) < 10
    assert post.headers["Content-Type"] == "application/json"
    _verify(published, timestamp, post.body, post.headers[SIGNATURE])
    with pytest.raises(InvalidSignature):
        _verify(published, timestamp, post.body + b" ", post.headers[SIGNATURE])
    with pytest.raises(InvalidSignature):
        _verify(published, str(int(timestamp) + 1), post.body, post.headers[SIGNATURE])


def test_given_private_key_signs_and_its_public_key_is_published(
    webhook_receiver: WebhookReceiver,
) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    expected = base64.b64encode(
        private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()

    with running_simulator(
        SIM_API_KEY,
        webhook_url=webhook_receiver.events_url,
        private_key_pem=pem,
        flush_seconds=0.05,
    ) as server:
        assert server.webhook_public_key == expected
        _send(server)
        _script(server, message_id=MESSAGE_ID, event="delivered")
        webhook_receiver.wait_for_events(1)

    [post] = webhook_receiver.posts(EVENTS_PATH)
    _verify(expected, post.headers[TIMESTAMP], post.body, post.headers[SIGNATURE])


def test_cli_takes_webhook_options_from_flags_and_environment(tmp_path) -> None:
    key_file = tmp_path / "key.pem"
    from_flags = parse_args(
        [
            "--webhook-url",
            "http://127.0.0.1:8000/webhooks/sendgrid/events",
            "--inbound-url",
            "http://127.0.0.1:8000/webhooks/sendgrid/inbound",
            "--scenario",
            "lively",
            "--webhook-private-key-file",
            str(key_file),
            "--seed",
            "7",
        ],
        environ={},
    )
    from_env = parse_args(
        [],
        environ={
            "NURTURE_SIMULATOR_WEBHOOK_URL": "http://api/events",
            "NURTURE_SIMULATOR_WEBHOOK_PRIVATE_KEY_FILE": str(key_file),
            "NURTURE_SIMULATOR_SEED": "9",
        },
    )
    defaults = parse_args([], environ={})

    assert from_flags.webhook_url.endswith("/events")
    assert from_flags.inbound_url.endswith("/inbound")
    assert (from_flags.scenario, from_flags.seed) == ("lively", 7)
    assert from_flags.webhook_private_key_file == key_file
    assert (from_env.webhook_url, from_env.webhook_private_key_file, from_env.seed) == (
        "http://api/events",
        key_file,
        9,
    )
    assert (defaults.webhook_url, defaults.inbound_url, defaults.scenario) == (
        None,
        None,
        "default",
    )


# -- event shapes --------------------------------------------------------------------------


def test_scripted_open_has_sendgrid_shape_with_flattened_custom_args(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    esp_message_id = _send(sim_webhooks)
    [stored] = sim_webhooks.store.messages()

    queued = _script(sim_webhooks, message_id=MESSAGE_ID, event="open")["event"]
    _script(sim_webhooks, esp_message_id=esp_message_id, event="open", sg_machine_open=True)
    human, machine = webhook_receiver.wait_for_events(2)

    assert human == queued
    assert human["event"] == "open"
    assert human["email"] == "lead@buyer.example.com"
    assert isinstance(human["timestamp"], int)
    assert abs(human["timestamp"] - time.time()) < 10
    assert len(human["sg_event_id"]) == 22
    assert human["sg_event_id"] != machine["sg_event_id"]
    assert human["sg_message_id"] == stored.sg_message_id
    assert human["sg_message_id"].startswith(f"{esp_message_id}.filterdrecv")
    assert human["smtp-id"] == f"<{MESSAGE_ID}@acme.example.com>"
    assert human["category"] == ["trade_intro", "trade_intro/intro"]
    assert human["nurture_message_id"] == MESSAGE_ID
    assert human["nurture_workflow_id"] == "nurture/trade_intro/6b1f0c3a"
    assert human["sg_machine_open"] is False
    assert human["useragent"]
    assert human["ip"]
    assert machine["sg_machine_open"] is True
    assert machine["useragent"] == "Mozilla/5.0"


def test_scripted_click_reports_a_link_of_the_mail_or_the_given_url(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    _send(sim_webhooks)

    _script(sim_webhooks, recipient="lead@buyer.example.com", event="click")
    _script(sim_webhooks, message_id=MESSAGE_ID, event="click", url="https://acme.example.com/x")
    first, second = webhook_receiver.wait_for_events(2)

    assert first["event"] == "click"
    assert first["url"] == "https://acme.example.com/valves"  # never the unsubscribe link
    assert first["url_offset"] == {"index": 0, "type": "html"}
    assert first["useragent"]
    assert first["ip"]
    assert first["nurture_message_id"] == MESSAGE_ID
    assert second["url"] == "https://acme.example.com/x"


def test_scripted_bounces_carry_reason_status_type_and_classification(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    _send(sim_webhooks)

    _script(sim_webhooks, message_id=MESSAGE_ID, event="bounce")
    _script(sim_webhooks, message_id=MESSAGE_ID, event="bounce", type="blocked")
    _script(sim_webhooks, message_id=MESSAGE_ID, event="deferred", attempt="2")
    _script(sim_webhooks, message_id=MESSAGE_ID, event="dropped")
    hard, blocked, deferred, dropped = webhook_receiver.wait_for_events(4)

    assert (hard["type"], hard["status"], hard["bounce_classification"]) == (
        "bounce",
        "5.1.1",
        "Invalid Address",
    )
    assert hard["reason"].startswith("550 5.1.1")
    assert (blocked["type"], blocked["status"]) == ("blocked", "5.7.1")
    assert blocked["bounce_classification"]
    assert "5.7.1" in blocked["reason"]
    assert deferred["attempt"] == "2"
    assert deferred["response"].startswith("4")
    assert dropped["reason"] == "Bounced Address"
    assert all(e["nurture_message_id"] == MESSAGE_ID for e in (hard, blocked, deferred, dropped))


def test_delayed_bounce_comes_without_custom_args_or_categories(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    _send(sim_webhooks)
    [stored] = sim_webhooks.store.messages()

    _script(sim_webhooks, message_id=MESSAGE_ID, event="bounce", delayed=True)
    [bounce] = webhook_receiver.wait_for_events(1)

    assert "nurture_message_id" not in bounce
    assert "nurture_workflow_id" not in bounce
    assert "category" not in bounce
    assert bounce["sg_message_id"] == stored.sg_message_id
    assert bounce["smtp-id"] == f"<{MESSAGE_ID}@acme.example.com>"
    assert bounce["email"] == "lead@buyer.example.com"
    assert bounce["status"] == "5.1.1"


def test_scripting_needs_a_stored_mail_a_selector_and_a_webhook_url(
    sim: SimulatorServer, sim_webhooks: SimulatorServer
) -> None:
    missing = httpx.post(
        f"{sim_webhooks.url}/_sim/events", json={"recipient": "x@y.example.com", "event": "open"}
    )
    no_selector = httpx.post(f"{sim_webhooks.url}/_sim/events", json={"event": "open"})
    both = httpx.post(
        f"{sim_webhooks.url}/_sim/events",
        json={"recipient": "a@b.example.com", "event": "open", "reply": {"text": "hi"}},
    )
    bad_event = httpx.post(
        f"{sim_webhooks.url}/_sim/events", json={"recipient": "a@b.example.com", "event": "nope"}
    )
    _send(sim)
    disabled = httpx.post(
        f"{sim.url}/_sim/events", json={"message_id": MESSAGE_ID, "event": "open"}
    )

    assert missing.status_code == 404
    assert (no_selector.status_code, both.status_code, bad_event.status_code) == (422, 422, 422)
    assert disabled.status_code == 409
    assert "webhook URL" in disabled.json()["detail"]


# -- batching and delivery -----------------------------------------------------------------


def test_events_scripted_together_arrive_in_one_batch(webhook_receiver: WebhookReceiver) -> None:
    with running_simulator(
        SIM_API_KEY, webhook_url=webhook_receiver.events_url, flush_seconds=0.25
    ) as server:
        _send(server)
        for kind in ("processed", "delivered", "open", "click"):
            _script(server, message_id=MESSAGE_ID, event=kind)
        webhook_receiver.wait_for_events(4)

    [post] = webhook_receiver.posts(EVENTS_PATH)
    assert [e["event"] for e in post.json()] == ["processed", "delivered", "open", "click"]


def test_a_full_batch_is_posted_without_waiting_for_the_flush_interval(
    webhook_receiver: WebhookReceiver,
) -> None:
    with running_simulator(
        SIM_API_KEY, webhook_url=webhook_receiver.events_url, flush_seconds=30, batch_size=2
    ) as server:
        _send(server)
        for _ in range(4):
            _script(server, message_id=MESSAGE_ID, event="open")
        webhook_receiver.wait_for_events(4, timeout=5)

    assert [len(p.json()) for p in webhook_receiver.posts(EVENTS_PATH)] == [2, 2]


def test_forced_duplicates_post_each_event_again_in_a_later_batch(
    webhook_receiver: WebhookReceiver,
) -> None:
    with running_simulator(
        SIM_API_KEY,
        webhook_url=webhook_receiver.events_url,
        scenario=Scenario(automatic=False, duplicate=1.0),
        flush_seconds=0.1,
    ) as server:
        _send(server)
        _script(server, message_id=MESSAGE_ID, event="open")
        _script(server, message_id=MESSAGE_ID, event="click")
        webhook_receiver.wait_for_events(4)

    batches = [[e["sg_event_id"] for e in p.json()] for p in webhook_receiver.posts(EVENTS_PATH)]
    assert len(batches) == 2
    assert sorted(batches[0]) == sorted(batches[1])  # each id once per batch, twice in all
    assert len(set(batches[0])) == 2


def test_forced_reordering_posts_a_batch_out_of_order(webhook_receiver: WebhookReceiver) -> None:
    with running_simulator(
        SIM_API_KEY,
        webhook_url=webhook_receiver.events_url,
        scenario=Scenario(automatic=False, reorder=1.0),
        flush_seconds=2.0,  # all four scripted well within one batch, even on a loaded machine
    ) as server:
        _send(server)
        queued = [
            _script(server, message_id=MESSAGE_ID, event=kind)["event"]["sg_event_id"]
            for kind in ("processed", "delivered", "open", "click")
        ]
        webhook_receiver.wait_for_events(4)

    [post] = webhook_receiver.posts(EVENTS_PATH)
    posted = [e["sg_event_id"] for e in post.json()]
    assert posted != queued
    assert sorted(posted) == sorted(queued)


def test_batch_answered_500_is_retried_with_the_same_events(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(500)
    _send(sim_webhooks)

    queued = _script(sim_webhooks, message_id=MESSAGE_ID, event="open")["event"]
    [event] = webhook_receiver.wait_for_events(1)

    failed, accepted = webhook_receiver.posts(EVENTS_PATH)
    assert (failed.status, accepted.status) == (500, 200)
    assert failed.json() == accepted.json() == [queued] == [event]
    _verify(
        sim_webhooks.webhook_public_key,
        accepted.headers[TIMESTAMP],
        accepted.body,
        accepted.headers[SIGNATURE],
    )
    log = httpx.get(f"{sim_webhooks.url}/_sim/webhooks").json()
    assert [(p["batch_id"], p["attempt"], p["status_code"]) for p in log["posts"]] == [
        ("events-1", 1, 500),
        ("events-1", 2, 200),
    ]
    assert log["posts"][1]["events"] == [queued]


def test_batch_is_kept_while_the_receiver_refuses_connections() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
    with running_simulator(
        SIM_API_KEY, webhook_url=url, flush_seconds=0.05, retry_initial_seconds=0.05
    ) as server:
        _send(server)
        queued = _script(server, message_id=MESSAGE_ID, event="delivered")["event"]
        deadline = time.monotonic() + 5
        while not server.webhooks.posts():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = server.webhooks.posts()[0]
        assert refused.status_code is None
        assert refused.error
        assert "Connect" in refused.error

        receiver = WebhookReceiver(port=port)
        try:
            assert receiver.wait_for_events(1) == [queued]
        finally:
            receiver.close()


def test_reset_drops_pending_events_and_the_webhook_log(
    webhook_receiver: WebhookReceiver,
) -> None:
    with running_simulator(
        SIM_API_KEY, webhook_url=webhook_receiver.events_url, flush_seconds=30, batch_size=2
    ) as server:
        _send(server)
        for kind in ("processed", "delivered", "open"):
            _script(server, message_id=MESSAGE_ID, event=kind)
        webhook_receiver.wait_for_events(2)
        before = httpx.get(f"{server.url}/_sim/webhooks").json()
        assert (len(before["posts"]), before["pending_events"]) == (1, 1)

        assert httpx.delete(f"{server.url}/_sim/messages").status_code == 204

        after = httpx.get(f"{server.url}/_sim/webhooks").json()
        assert (after["posts"], after["pending_events"], after["scheduled"]) == ([], 0, 0)
    assert [e["event"] for e in webhook_receiver.events()] == ["processed", "delivered"]


# -- inbound replies -----------------------------------------------------------------------


def _headers(block: str) -> email.message.Message:
    return email.message_from_string(block, policy=default_policy)


def test_scripted_reply_posts_parsed_inbound_form_threaded_to_the_mail(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    _send(sim_webhooks)

    queued = _script(sim_webhooks, message_id=MESSAGE_ID, reply={"text": "Please send pricing."})[
        "reply"
    ]
    webhook_receiver.wait_for(lambda r: bool(r.posts(INBOUND_PATH)))

    [post] = webhook_receiver.posts(INBOUND_PATH)
    assert post.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    fields = post.form()
    assert fields == queued
    assert fields["to"] == "reply+tok3n@inbound.localhost"
    assert fields["from"] == "Lead Person <lead@buyer.example.com>"
    assert fields["subject"] == "Re: Valves for your plant"
    assert fields["text"] == "Please send pricing."
    assert "Please send pricing." in fields["html"]
    assert json.loads(fields["envelope"]) == {
        "to": ["reply+tok3n@inbound.localhost"],
        "from": "lead@buyer.example.com",
    }
    assert json.loads(fields["charsets"])["text"] == "UTF-8"
    assert {"spam_score", "SPF", "dkim", "sender_ip"} <= fields.keys()
    assert "email" not in fields
    headers = _headers(fields["headers"])
    assert headers["To"] == "reply+tok3n@inbound.localhost"
    assert headers["In-Reply-To"] == f"<{MESSAGE_ID}@acme.example.com>"
    assert f"<{MESSAGE_ID}@acme.example.com>" in headers["References"]
    assert headers["Subject"] == "Re: Valves for your plant"
    assert headers["Message-ID"].endswith("@buyer.example.com>")
    assert headers["Auto-Submitted"] is None


def test_scripted_auto_reply_is_out_of_office_with_auto_submitted_and_return_date(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    _send(sim_webhooks)

    _script(sim_webhooks, message_id=MESSAGE_ID, reply={"auto": True, "until": "2025-12-02"})
    _script(sim_webhooks, message_id=MESSAGE_ID, reply={"auto": True})
    webhook_receiver.wait_for(lambda r: len(r.posts(INBOUND_PATH)) == 2)

    dated, default = (p.form() for p in webhook_receiver.posts(INBOUND_PATH))
    headers = _headers(dated["headers"])
    assert headers["Auto-Submitted"] == "auto-replied"
    assert headers["In-Reply-To"] == f"<{MESSAGE_ID}@acme.example.com>"
    assert dated["subject"].startswith("Out of Office")
    assert "out of the office until December 2 " in dated["text"]
    in_five_days = time.gmtime(time.time() + 5 * 86400)
    assert f"until {time.strftime('%B', in_five_days)} {in_five_days.tm_mday} " in default["text"]


def test_raw_reply_posts_the_whole_message_as_email(
    sim_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    _send(sim_webhooks)

    _script(
        sim_webhooks,
        message_id=MESSAGE_ID,
        reply={"text": "Call me", "raw": True, "headers": {"X-Mailer": "Outlook"}},
    )
    webhook_receiver.wait_for(lambda r: bool(r.posts(INBOUND_PATH)))

    fields = webhook_receiver.posts(INBOUND_PATH)[0].form()
    assert "headers" not in fields
    assert "text" not in fields
    assert fields["to"] == "reply+tok3n@inbound.localhost"
    message = email.message_from_string(fields["email"], policy=default_policy)
    assert message["In-Reply-To"] == f"<{MESSAGE_ID}@acme.example.com>"
    assert message["X-Mailer"] == "Outlook"
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Call me"
