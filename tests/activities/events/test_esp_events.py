"""Event Webhook batches parsed into EspEvents: kinds, ids, bounce classes, and no personal data
in the engagement event, for any input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.events.esp_events import (
    EVENT_KINDS,
    SendGridEventType,
    parse_event_batch,
    sg_message_id_prefix,
)
from models.errors import InvalidInput, MalformedPayload
from models.esp_events import INVALID_ESP_TYPE, EspEvent
from models.events import BounceClass, EventKind

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
TS = 1_714_980_000  # 2024-05-06T07:20:00Z
RECIPIENT = "ana.lima@example.com"
MESSAGE_ID = "0b8e6a52-3f0e-4a55-9d8e-2f1d7c7b9a10"
CONTACT_ID = "5d1c4d2e-7a39-4b6f-8e0a-1f2b3c4d5e6f"
WORKFLOW_ID = f"nurture/trade_intro/{CONTACT_ID}"
X_MESSAGE_ID = "wrfRRvF7Q0GgwUo2CvDmEA"
SG_MESSAGE_ID = f"{X_MESSAGE_ID}.filterdrecv-6b7c9d8f-2xk4r-1-66389A20-4.0"
SMTP_ID = f"<{MESSAGE_ID}@mail.exporter.example>"


def common(event: str, sg_event_id: str, **fields: Any) -> dict[str, Any]:
    """One item as SendGrid posts it: custom args are top-level keys."""
    return {
        "email": RECIPIENT,
        "timestamp": TS,
        "smtp-id": SMTP_ID,
        "event": event,
        "category": ["trade_intro", "trade_intro/intro"],
        "sg_event_id": sg_event_id,
        "sg_message_id": SG_MESSAGE_ID,
        "nurture_message_id": MESSAGE_ID,
        "nurture_workflow_id": WORKFLOW_ID,
        **fields,
    }


BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"

#: One item of every SendGrid event type, shaped like SendGrid's Event Webhook reference.
BATCH: list[dict[str, Any]] = [
    common("processed", "rbtnWrG1DVDGGGFHFyun0A=="),
    common("dropped", "zmzJhfJgAfUSOW80yEbPyw==", reason="Bounced Address", status="5.0.0"),
    common(
        "delivered",
        "hqFbp3HH9WxIM0R2-x2M1Q==",
        response="250 2.0.0 OK  1714980000 q1si",
        ip="168.1.1.1",
    ),
    common(
        "deferred",
        "qK1MxfAaE_ukyyNsjxTpkw==",
        response=f"451 4.7.1 <{RECIPIENT}>: Recipient address rejected: greylisted",
        attempt="5",
        ip="168.1.1.1",
    ),
    common(
        "bounce",
        "6g4ZI7SA-xmRDv57GoPIPw==",
        reason=f"550 5.1.1 <{RECIPIENT}>: Recipient address rejected: User unknown",
        status="5.1.1",
        type="bounce",
        bounce_classification="Invalid Address",
        ip="168.1.1.1",
    ),
    common(
        "bounce",
        "Z3hzFnO8THWIMR-a1sQcbg==",
        reason="550 5.7.1 Message rejected due to content restrictions",
        status="5.7.1",
        type="blocked",
        bounce_classification="Content",
        ip="168.1.1.1",
    ),
    common(
        "open",
        "FOTFFO0ecsBE-zxFXfs6WA==",
        useragent=BROWSER,
        ip="203.0.113.7",
        sg_machine_open=False,
    ),
    common(
        "open",
        "bjVCdWRcTnCJ8dHBSV7jBQ==",
        useragent="Mozilla/5.0",
        ip="17.58.0.1",
        sg_machine_open=True,
    ),
    common(
        "click",
        "kCAi1KttyQdEKHhdC-nuEA==",
        useragent=BROWSER,
        ip="203.0.113.7",
        url="https://exporter.example/catalogue?utm_source=nurture&utm_medium=email",
        url_offset={"index": 0, "type": "html"},
    ),
    common(
        "click",
        "vG5uyUEBDhK2fY4XaOBnMQ==",
        useragent=BROWSER,
        ip="203.0.113.7",
        url=f"https://exporter.example/quote?contact={RECIPIENT}&ref=intro#top",
        url_offset={"index": 1, "type": "html"},
    ),
    common("spamreport", "37nvH5QBz858KGVYCM5OWg=="),
    common("unsubscribe", "zz_BjPgU_5pS-J8vlfB1sg==", useragent=BROWSER, ip="203.0.113.7"),
    common(
        "group_unsubscribe",
        "ahSCB7xYcXFb-hEaawsPRw==",
        useragent=BROWSER,
        ip="203.0.113.7",
        url="https://u.sendgrid.example/asm/unsubscribe?user_id=1&data=abc",
        asm_group_id=10,
    ),
    common(
        "group_resubscribe",
        "w_u0vJhLT-OFfprar5N93g==",
        useragent=BROWSER,
        ip="203.0.113.7",
        asm_group_id=10,
    ),
]

INDEX = {
    "processed": 0,
    "dropped": 1,
    "delivered": 2,
    "deferred": 3,
    "bounce": 4,
    "blocked": 5,
    "open": 6,
    "machine_open": 7,
    "click": 8,
    "click_with_address": 9,
    "spamreport": 10,
    "unsubscribe": 11,
    "group_unsubscribe": 12,
    "group_resubscribe": 13,
}


def body(items: list[Any]) -> bytes:
    return json.dumps(items).encode()


def parse(items: list[Any]) -> list[EspEvent]:
    return parse_event_batch(body(items), now=NOW)


def parse_one(item: Any) -> EspEvent:
    [parsed] = parse([item])
    return parsed


@pytest.fixture(scope="module")
def parsed() -> list[EspEvent]:
    return parse(BATCH)


# -- kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "bounce_class"),
    [
        ("processed", EventKind.PROCESSED, None),
        ("dropped", EventKind.DROPPED, None),
        ("delivered", EventKind.DELIVERED, None),
        ("deferred", EventKind.DEFERRED, BounceClass.SOFT),
        ("bounce", EventKind.BOUNCE, BounceClass.HARD),
        ("blocked", EventKind.BOUNCE, BounceClass.BLOCK),
        ("open", EventKind.OPEN, None),
        ("machine_open", EventKind.OPEN, None),
        ("click", EventKind.CLICK, None),
        ("spamreport", EventKind.COMPLAINT, None),
        ("unsubscribe", EventKind.UNSUBSCRIBE, None),
        ("group_unsubscribe", EventKind.UNSUBSCRIBE, None),
    ],
)
def test_each_sendgrid_event_type_maps_to_its_engagement_kind(
    parsed: list[EspEvent], name: str, kind: EventKind, bounce_class: BounceClass | None
) -> None:
    item = parsed[INDEX[name]]
    assert item.event is not None
    assert item.event.kind == kind
    assert item.event.bounce_class == bounce_class
    assert item.esp_type == BATCH[INDEX[name]]["event"]


def test_every_known_event_type_is_in_the_fixture_batch() -> None:
    assert {item["event"] for item in BATCH} == set(SendGridEventType) == set(EVENT_KINDS)


def test_group_resubscribe_is_known_but_carries_no_engagement_event(
    parsed: list[EspEvent],
) -> None:
    item = parsed[INDEX["group_resubscribe"]]
    assert item.event is None
    assert item.esp_type == "group_resubscribe"
    assert item.message_id == MESSAGE_ID  # still correlated, for the record


def test_unknown_event_type_is_kept_without_an_engagement_event() -> None:
    item = parse_one(
        {
            "event": "account_status_change",
            "type": "compliance_suspend",
            "timestamp": TS,
            "sg_event_id": "MTY5NzQ3NjQ3MTM5NzY3ODQ3MA==",
        }
    )
    assert item.event is None
    assert item.esp_type == "account_status_change"
    assert item.esp_event_id == "MTY5NzQ3NjQ3MTM5NzY3ODQ3MA=="
    assert item.occurred_at == datetime.fromtimestamp(TS, UTC)


def test_event_name_is_normalised_to_lower_case() -> None:
    item = parse_one({"event": " Delivered ", "timestamp": TS})
    assert item.esp_type == "delivered"
    assert item.event is not None
    assert item.event.kind == EventKind.DELIVERED


@pytest.mark.parametrize("name", [None, 7, "", ["open"], {"open": True}])
def test_item_without_an_event_name_is_invalid_but_kept(name: Any) -> None:
    item = parse_one({"event": name, "email": RECIPIENT, "nurture_message_id": MESSAGE_ID})
    assert item.esp_type == INVALID_ESP_TYPE
    assert item.event is None
    assert item.message_id == MESSAGE_ID


def test_items_that_are_not_objects_are_kept_as_invalid() -> None:
    items = parse([common("delivered", "a"), "delivered", 42, None, True, ["open"], 1.5])
    assert items[0].event is not None
    assert [i.esp_type for i in items[1:]] == [INVALID_ESP_TYPE] * 6
    assert all(i.event is None and i.is_invalid and i.occurred_at == NOW for i in items[1:])


def test_empty_batch_parses_to_nothing() -> None:
    assert parse_event_batch(b"[]") == []
    assert parse_event_batch(b" \n[ ]\n") == []


# -- correlation ------------------------------------------------------------------------------


def test_correlation_fields_come_from_top_level_custom_args_and_sendgrid_ids(
    parsed: list[EspEvent],
) -> None:
    item = parsed[INDEX["delivered"]]
    assert item.message_id == MESSAGE_ID
    assert item.workflow_id == WORKFLOW_ID
    assert item.sg_message_id == SG_MESSAGE_ID
    assert item.smtp_id == SMTP_ID
    assert item.email == RECIPIENT
    assert item.esp_event_id == "hqFbp3HH9WxIM0R2-x2M1Q=="
    assert item.event is not None
    assert item.event.message_id == MESSAGE_ID
    assert item.event.esp_event_id == "hqFbp3HH9WxIM0R2-x2M1Q=="


def test_custom_args_nested_in_an_object_are_read_too() -> None:
    item = parse_one(
        {
            "event": "open",
            "timestamp": TS,
            "custom_args": {"nurture_message_id": MESSAGE_ID, "nurture_workflow_id": WORKFLOW_ID},
        }
    )
    assert (item.message_id, item.workflow_id) == (MESSAGE_ID, WORKFLOW_ID)
    assert item.event is not None
    assert item.event.message_id == MESSAGE_ID


def test_valid_nested_custom_arg_is_used_when_the_top_level_one_is_not_ours() -> None:
    item = parse_one(
        {
            "event": "open",
            "nurture_message_id": "not-a-uuid",
            "unique_args": {"nurture_message_id": MESSAGE_ID},
        }
    )
    assert item.message_id == MESSAGE_ID


def test_upper_case_message_id_is_normalised() -> None:
    assert parse_one({"event": "open", "nurture_message_id": MESSAGE_ID.upper()}).message_id == (
        MESSAGE_ID
    )


@pytest.mark.parametrize(
    "message_id",
    [
        "42",
        "not-a-uuid",
        MESSAGE_ID.replace("-", ""),
        f"{{{MESSAGE_ID}}}",
        f"{MESSAGE_ID} ",
        f"urn:uuid:{MESSAGE_ID}",
        RECIPIENT,
        12345,
        None,
        ["x"],
    ],
)
def test_message_id_custom_arg_that_is_not_a_uuid_is_ignored(message_id: Any) -> None:
    item = parse_one({"event": "open", "nurture_message_id": message_id})
    assert item.message_id is None
    assert item.event is not None
    assert item.event.message_id is None


@pytest.mark.parametrize(
    "workflow_id",
    [
        f"nurture/trade_intro/{CONTACT_ID.upper()}",
        f"nurture/{RECIPIENT}/{CONTACT_ID}",
        f"nurture//{CONTACT_ID}",
        f"other/trade_intro/{CONTACT_ID}",
        f"nurture/trade/intro/{CONTACT_ID}",
        f"nurture/trade_intro/{CONTACT_ID}/x",
        "nurture/trade_intro/ana",
        f"nurture/{'s' * 101}/{CONTACT_ID}",
        7,
    ],
)
def test_workflow_id_custom_arg_of_another_shape_is_ignored(workflow_id: Any) -> None:
    assert parse_one({"event": "open", "nurture_workflow_id": workflow_id}).workflow_id is None


def test_delayed_bounce_without_custom_args_keeps_sendgrid_ids_for_correlation() -> None:
    item = parse_one(
        {
            "email": RECIPIENT,
            "event": "bounce",
            "timestamp": TS,
            "sg_event_id": "ZEaiAm9zT7K3ri1yJp-Fnw==",
            "sg_message_id": SG_MESSAGE_ID,
            "reason": "552 5.2.2 Mailbox full",
            "status": "5.2.2",
            "type": "bounce",
        }
    )
    assert item.message_id is None
    assert item.workflow_id is None
    assert item.sg_message_id is not None
    assert sg_message_id_prefix(item.sg_message_id) == X_MESSAGE_ID
    assert item.email == RECIPIENT
    assert item.event is not None
    assert item.event.bounce_class == BounceClass.SOFT


@pytest.mark.parametrize(
    ("sg_message_id", "x_message_id"),
    [
        (SG_MESSAGE_ID, X_MESSAGE_ID),
        ("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "14c5d75ce93.dfd.64b469"),
        ("wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0", "wrfRRvF7Q0GgwUo2CvDmEA"),
        ("ghi789.recvd-5f8b7c-abcd-1-0", "ghi789"),
        ("abc.def", "abc"),
        ("no-dot-at-all", "no-dot-at-all"),
    ],
    ids=["simulator", "legacy-dotted", "modern", "recvd", "unknown-suffix", "bare"],
)
def test_sg_message_id_prefix_is_the_x_message_id(sg_message_id: str, x_message_id: str) -> None:
    assert sg_message_id_prefix(sg_message_id) == x_message_id


@pytest.mark.parametrize("field", ["sg_message_id", "smtp-id", "sg_event_id", "email"])
def test_id_too_long_to_be_sendgrids_is_dropped_not_truncated(field: str) -> None:
    item = parse_one({"event": "open", field: "x" * 400})
    assert (item.sg_message_id, item.smtp_id, item.esp_event_id, item.email) == (None,) * 4


@pytest.mark.parametrize("sg_event_id", [f"id-{RECIPIENT}", "two words", "", 17, "é"])
def test_event_id_that_is_not_an_opaque_token_is_dropped(sg_event_id: Any) -> None:
    item = parse_one({"event": "open", "sg_event_id": sg_event_id})
    assert item.esp_event_id is None
    assert item.event is not None
    assert item.event.esp_event_id is None


# -- time -------------------------------------------------------------------------------------


def test_occurred_at_is_the_items_unix_timestamp_in_utc(parsed: list[EspEvent]) -> None:
    expected = datetime(2024, 5, 6, 7, 20, tzinfo=UTC)
    for item in parsed:
        assert item.occurred_at == expected
        assert item.occurred_at.utcoffset() is not None
        assert not item.occurred_at.utcoffset()
        assert item.event is None or item.event.occurred_at == expected


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (str(TS), datetime.fromtimestamp(TS, UTC)),
        (TS + 0.5, datetime.fromtimestamp(TS + 0.5, UTC)),
        (None, NOW),
        ("yesterday", NOW),
        ("1714980000.5", NOW),
        (True, NOW),
        (-1, NOW),
        (10**30, NOW),
        (float("inf"), NOW),
        (float("nan"), NOW),
        ([TS], NOW),
        ("9" * 40, NOW),
    ],
)
def test_missing_or_invalid_timestamp_falls_back_to_receipt_time(
    timestamp: Any, expected: datetime
) -> None:
    item = parse_one({"event": "open", "timestamp": timestamp})
    assert item.occurred_at == expected


def test_receipt_time_defaults_to_the_clock() -> None:
    before = datetime.now(UTC)
    [item] = parse_event_batch(b'[{"event": "open"}]')
    assert before <= item.occurred_at <= datetime.now(UTC)


# -- opens, clicks, details --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "machine"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        ("false", False),
        (1, True),
        (0, False),
        (None, False),
        ("yes please", False),
    ],
)
def test_machine_open_comes_from_sg_machine_open(value: Any, machine: bool) -> None:
    item = parse_one({"event": "open", "sg_machine_open": value})
    assert item.event is not None
    assert item.event.machine_open is machine
    assert item.details["sg_machine_open"] is machine


def test_machine_open_is_read_from_the_fixture(parsed: list[EspEvent]) -> None:
    human, machine = parsed[INDEX["open"]].event, parsed[INDEX["machine_open"]].event
    assert human is not None
    assert human.is_human_open
    assert machine is not None
    assert machine.machine_open
    assert not machine.is_human_open


def test_sg_machine_open_on_a_non_open_event_does_not_mark_it() -> None:
    item = parse_one({"event": "click", "url": "https://a.example/", "sg_machine_open": True})
    assert item.event is not None
    assert item.event.machine_open is False


def test_click_url_without_personal_data_is_kept_whole(parsed: list[EspEvent]) -> None:
    item = parsed[INDEX["click"]]
    url = "https://exporter.example/catalogue?utm_source=nurture&utm_medium=email"
    assert item.event is not None
    assert item.event.url == url
    assert item.details["url"] == url


def test_click_url_with_an_address_in_the_query_loses_query_and_fragment(
    parsed: list[EspEvent],
) -> None:
    item = parsed[INDEX["click_with_address"]]
    assert item.event is not None
    assert item.event.url == "https://exporter.example/quote"
    assert item.details["url"] == "https://exporter.example/quote"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://a.example/p?e=ana%40example.com", "https://a.example/p"),
        ("https://a.example/p?e=ana%2540example.com&x=1", "https://a.example/p"),
        ("https://a.example/p?x=1#to=ana@example.com", "https://a.example/p"),
        ("https://a.example/p?x=1", "https://a.example/p?x=1"),
        ("https://a.example/u/ana@example.com/profile?x=1", "https://a.example"),
        ("https://ana:secret@a.example/p", "https://a.example"),
        ("mailto:ana@example.com", None),
        ("https://[::1", None),
        ("", None),
        (42, None),
        ("https://a.example/" + "p" * 3000, None),
        ("https://a.example/p?" + "q" * 3000, "https://a.example/p"),
    ],
    ids=[
        "percent-encoded",
        "double-encoded",
        "fragment",
        "clean",
        "address-in-path",
        "userinfo",
        "mailto",
        "broken-ipv6",
        "empty",
        "not-a-string",
        "too-long",
        "long-query",
    ],
)
def test_click_url_never_carries_an_address(url: Any, kept: str | None) -> None:
    item = parse_one({"event": "click", "url": url})
    assert item.event is not None
    assert item.event.url == kept
    assert item.details.get("url") == kept


def test_url_on_a_non_click_event_is_not_kept(parsed: list[EspEvent]) -> None:
    item = parsed[INDEX["group_unsubscribe"]]
    assert item.event is not None
    assert item.event.url is None
    assert "url" not in item.details


def test_details_keep_non_personal_fields_only(parsed: list[EspEvent]) -> None:
    assert parsed[INDEX["bounce"]].details == {
        "reason": "550 5.1.1 <[redacted]>: Recipient address rejected: User unknown",
        "status": "5.1.1",
        "type": "bounce",
        "bounce_classification": "Invalid Address",
    }
    assert parsed[INDEX["deferred"]].details == {
        "response": "451 4.7.1 <[redacted]>: Recipient address rejected: greylisted",
        "attempt": "5",
    }
    assert parsed[INDEX["dropped"]].details == {"reason": "Bounced Address", "status": "5.0.0"}
    assert parsed[INDEX["group_unsubscribe"]].details == {"asm_group_id": 10}
    assert parsed[INDEX["open"]].details == {"sg_machine_open": False}
    for item in parsed:
        assert not {"useragent", "ip", "email", "category", "url_offset"} & set(item.details)


def test_long_free_text_is_truncated_and_non_scalars_skipped() -> None:
    item = parse_one(
        {
            "event": "delivered",
            "response": "250 " + "x" * 10_000,
            "attempt": {"n": 1},
            "status": 1.5,
            "asm_group_id": 2**70,
            "reason": None,
        }
    )
    assert len(str(item.details["response"])) == 500
    assert set(item.details) == {"response"}


def test_text_with_nul_or_lone_surrogates_is_made_storable() -> None:
    raw = (
        b'[{"event": "bounce\\u0000", "reason": "bad \\ud800 \\u0000 text", "email": "a\\udfff@b"}]'
    )
    [item] = parse_event_batch(raw, now=NOW)
    assert item.esp_type == "bounce"
    assert item.details["reason"] == "bad ?  text"
    assert item.email == "a?@b"
    item.model_dump_json()  # encodable


# -- personal data ----------------------------------------------------------------------------


def test_no_email_address_enters_any_engagement_event(parsed: list[EspEvent]) -> None:
    events = [item.event for item in parsed if item.event is not None]
    assert len(events) == len(BATCH) - 1
    for event in events:
        serialised = event.model_dump_json()
        assert RECIPIENT not in serialised
        assert "@" not in serialised
        assert "ana.lima" not in serialised


# -- malformed bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xff\xfe[]", "not UTF-8"),
        (b"", "not valid JSON"),
        (b"[{]", "not valid JSON"),
        (b"event=open", "not valid JSON"),
        (b'{"event": "open"}', "JSON object, not an array"),
        (b'"open"', "JSON string"),
        (b"42", "JSON number"),
        (b"null", "JSON null"),
        (b"true", "JSON boolean"),
        (b"[" + b"1" * 5000 + b"]", "number is too long"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=[
        "not-utf8",
        "empty",
        "broken-json",
        "form-encoded",
        "object",
        "string",
        "number",
        "null",
        "boolean",
        "huge-number",
        "deep-nesting",
    ],
)
def test_body_that_is_not_a_json_array_is_malformed(raw: bytes, says: str) -> None:
    with pytest.raises(MalformedPayload, match=says) as excinfo:
        parse_event_batch(raw)
    assert isinstance(excinfo.value, InvalidInput)
    assert excinfo.value.field == "body"


def test_utf8_byte_order_mark_is_tolerated() -> None:
    assert len(parse_event_batch(b"\xef\xbb\xbf" + body([common("open", "x")]))) == 1


# -- any input --------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_event_names = st.sampled_from([*SendGridEventType, "Open", "blocked", "unknown_thing"]) | _json
_url = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda host, path, query: f"https://{host}/{path}?{query}",
        st.sampled_from(["a.example", "ana@a.example", "[::1", "a.example:99999"]),
        st.text(max_size=15),
        st.text(max_size=15),
    ),
    st.emails().map(lambda e: f"https://a.example/?e={e}"),
)
_sendgrid_like = st.fixed_dictionaries(
    {"event": _event_names},
    optional={
        "email": st.emails() | _json,
        "timestamp": st.integers() | st.floats() | st.text(max_size=15) | _json,
        "sg_event_id": st.text(max_size=30) | _json,
        "sg_message_id": st.text(max_size=40) | _json,
        "smtp-id": st.text(max_size=40) | _json,
        "nurture_message_id": st.uuids().map(str) | st.text(max_size=40) | _json,
        "nurture_workflow_id": st.uuids().map(lambda u: f"nurture/s/{u}") | _json,
        "custom_args": st.dictionaries(
            st.sampled_from(["nurture_message_id", "nurture_workflow_id"]),
            st.uuids().map(str) | _json,
        )
        | _json,
        "sg_machine_open": st.booleans() | st.sampled_from(["true", "false", "1"]) | _json,
        "url": _url | _json,
        "reason": st.text(max_size=80) | st.emails() | _json,
        "status": st.text(max_size=10) | st.sampled_from(["5.1.1", "5.1.10", "4.2.2"]) | _json,
        "response": st.text(max_size=80) | _json,
        "type": st.sampled_from(["bounce", "blocked"]) | _json,
        "bounce_classification": st.sampled_from(["Invalid Address", "Technical"]) | _json,
        "attempt": _json,
        "asm_group_id": _json,
    },
)

_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(items: list[EspEvent]) -> None:
    for item in items:
        item.model_dump_json()  # everything parsed is serialisable (DB, Temporal payloads)
        if item.event is not None:
            assert "@" not in item.event.model_dump_json()
        assert all(isinstance(v, str | int | bool) for v in item.details.values())


@_FAST
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_malformed_payload_only(raw: bytes) -> None:
    try:
        items = parse_event_batch(raw, now=NOW)
    except MalformedPayload:
        return
    _check(items)


@_FAST
@given(_json)
def test_arbitrary_json_parses_or_raises_malformed_payload_only(value: Any) -> None:
    raw = json.dumps(value).encode()
    try:
        items = parse_event_batch(raw, now=NOW)
    except MalformedPayload:
        assert not isinstance(value, list)
        return
    assert isinstance(value, list)
    assert len(items) == len(value)
    _check(items)


@_FAST
@given(st.lists(_sendgrid_like | _json, max_size=5))
def test_sendgrid_shaped_items_with_any_values_always_parse(items: list[Any]) -> None:
    parsed = parse_event_batch(json.dumps(items).encode(), now=NOW)
    assert len(parsed) == len(items)
    _check(parsed)
