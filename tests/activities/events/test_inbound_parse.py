"""Inbound Parse posts, parsed and raw mode, from real-looking mailers: replies, out-of-office
notes in five languages, thread ids, reply tokens, encodings; and no post makes it raise anything
but `MalformedInbound`."""

from __future__ import annotations

import base64
import json
import quopri
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.events.autoreply import detect_auto_reply
from activities.events.inbound_parse import (
    HEADER_PARSE_MAX_CHARS,
    html_to_text,
    parse_inbound,
)
from activities.replies.extraction import reply_body
from models.errors import InvalidInput, MalformedInbound
from models.inbound import InboundMessage
from models.tokens import TokenPurpose, sign, verify
from tests.factories import INBOUND_DOMAIN, SECRET

RECEIVED = date(2026, 11, 23)
DEC_2 = date(2026, 12, 2)

MESSAGE_UUID = "0b9c7a52-3f0e-4c43-9a4e-2d1f5c8e7b10"
OUR_MESSAGE_ID = f"<{MESSAGE_UUID}@factory.example.cn>"
TOKEN = sign(SECRET, TokenPurpose.REPLY, MESSAGE_UUID)
REPLY_TO = f"reply+{TOKEN}@{INBOUND_DOMAIN}"
UTF8_CHARSETS = json.dumps(
    {"to": "UTF-8", "cc": "UTF-8", "html": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "UTF-8"}
)  # fmt: skip


def envelope(*to: str, sender: str) -> str:
    return json.dumps({"to": list(to), "from": sender})


def parse(fields: dict[str, str]) -> InboundMessage:
    return parse_inbound(fields, received=RECEIVED)


# --- a human reply from Gmail, quoting our mail --------------------------------------------

GMAIL_HEADERS = f"""\
Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Mon, 23 Nov 2026 14:02:11 +0000 (UTC)
Received: from mail-wm1-f41.google.com (mail-wm1-f41.google.com [209.85.128.41])
\tby mx0047p1mdw1.sendgrid.net (Postfix) with ESMTPS id 3F5A2A0152
\tfor <{REPLY_TO}>; Mon, 23 Nov 2026 14:02:11 +0000 (UTC)
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
        d=schmidt-maschinen.example.de; s=google; t=1795442521;
        h=to:subject:message-id:date:from:in-reply-to:references:mime-version;
        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
        b=kR3yJ2nGm1T0pQ9sWbX4vC8eZ7aL5hD6fN2uV0iM3oP1qS9tY4wE8rU7iO2pA6sD
MIME-Version: 1.0
References: {OUR_MESSAGE_ID}
In-Reply-To: {OUR_MESSAGE_ID}
From: Anna Schmidt <a.schmidt@schmidt-maschinen.example.de>
Date: Mon, 23 Nov 2026 15:02:01 +0100
Message-ID: <CAJx8=QmVb7p+Zr0xW3kq1o@mail.gmail.com>
Subject: Re: Samples for your Q1 range
To: "Li Wei, Ningbo Precision Parts" <{REPLY_TO}>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6"
"""

GMAIL_NEW_TEXT = """\
Hi Li,

yes, please send the samples to our Hamburg warehouse. I'm on vacation from 20 December, so before then would be great.

Best regards,
Anna"""

GMAIL_TEXT = f"""\
{GMAIL_NEW_TEXT}

On Mon, 23 Nov 2026 at 10:00, Li Wei <li.wei@factory.example.cn> wrote:

> Dear Anna,
>
> in case you are out of the office until 2 December: our samples ship from
> Ningbo every Tuesday.
>
> Li Wei
"""


def gmail_reply() -> dict[str, str]:
    return {
        "headers": GMAIL_HEADERS,
        "from": "Anna Schmidt <a.schmidt@schmidt-maschinen.example.de>",
        "to": f'"Li Wei, Ningbo Precision Parts" <{REPLY_TO}>',
        "subject": "Re: Samples for your Q1 range",
        "text": GMAIL_TEXT,
        "html": '<div dir="ltr">Hi Li,<br><br>yes, please send the samples ...</div>',
        "envelope": envelope(REPLY_TO, sender="a.schmidt@schmidt-maschinen.example.de"),
        "charsets": UTF8_CHARSETS,
        "SPF": "pass",
        "dkim": "{@schmidt-maschinen.example.de : pass}",
        "spam_score": "0.011",
        "sender_ip": "209.85.128.41",
        "attachments": "0",
    }


def test_gmail_reply_quoting_our_mail_is_a_human_reply() -> None:
    assert parse(gmail_reply()) == InboundMessage(
        from_email="a.schmidt@schmidt-maschinen.example.de",
        from_name="Anna Schmidt",
        to=[REPLY_TO],
        subject="Re: Samples for your Q1 range",
        text=GMAIL_TEXT.strip(),
        new_text=GMAIL_NEW_TEXT.removesuffix("\n\nBest regards,\nAnna"),  # the sign-off goes
        message_id="<CAJx8=QmVb7p+Zr0xW3kq1o@mail.gmail.com>",
        in_reply_to=[OUR_MESSAGE_ID],
        references=[OUR_MESSAGE_ID],
        reply_tokens=[TOKEN],
        auto_reply=False,
        auto_reply_reason=None,
        return_date=None,
        headers={
            "Message-ID": "<CAJx8=QmVb7p+Zr0xW3kq1o@mail.gmail.com>",
            "In-Reply-To": OUR_MESSAGE_ID,
            "References": OUR_MESSAGE_ID,
        },
    )


def test_quoted_original_would_be_misread_without_stripping() -> None:
    # the proof that the reply above is human only because the quote is cut off
    assert detect_auto_reply({}, "Re: Samples", GMAIL_TEXT, received=RECEIVED).is_auto


def test_reply_token_from_a_post_verifies_to_our_message() -> None:
    (token,) = parse(gmail_reply()).reply_tokens
    assert verify(SECRET, TokenPurpose.REPLY, token) == MESSAGE_UUID


# --- out-of-office notes ------------------------------------------------------------------

EXCHANGE_DE_HEADERS = f"""\
Received: from EXCH01.becker-handel.example.de (203.0.113.25) by mx.sendgrid.net
 with ESMTPS id 1x2y3z for <{REPLY_TO}>; Mon, 23 Nov 2026 10:00:43 +0000
From: =?iso-8859-1?Q?J=FCrgen_Becker?= <J.Becker@Becker-Handel.example.de>
To: "Li Wei, Ningbo Precision Parts" <{REPLY_TO}>
Subject: =?iso-8859-1?Q?Automatische_Antwort:_Muster_f=FCr_Ihr_Q1-Sortiment?=
Thread-Topic: =?iso-8859-1?Q?Muster_f=FCr_Ihr_Q1-Sortiment?=
Thread-Index: AQHaR3x0Yk1vT2p8AkKq1w==
Date: Mon, 23 Nov 2026 10:00:42 +0000
Message-ID: <3d7a1b0c9f6e4f2a8b5c1d2e3f4a5b6c@EXCH01.becker-handel.example.de>
References: {OUR_MESSAGE_ID}
In-Reply-To: {OUR_MESSAGE_ID}
Auto-Submitted: auto-generated
Accept-Language: de-DE, en-US
Content-Language: de-DE
X-MS-Has-Attach:
X-MS-Exchange-Inbox-Rules-Loop: J.Becker@Becker-Handel.example.de
X-Auto-Response-Suppress: All
X-MS-TNEF-Correlator:
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0
"""

EXCHANGE_DE_TEXT = (
    "Sehr geehrte Damen und Herren,\n\n"
    "Ich bin bis zum 2. Dezember nicht im Büro. In dringenden Fällen wenden Sie sich bitte an "
    "„Vertrieb“ unter vertrieb@becker-handel.example.de.\n\n"
    "Mit freundlichen Grüßen\nJürgen Becker"
)


def test_exchange_german_out_of_office_is_an_auto_reply_with_its_return_date() -> None:
    fields = {
        "headers": EXCHANGE_DE_HEADERS,
        "from": "=?iso-8859-1?Q?J=FCrgen_Becker?= <J.Becker@Becker-Handel.example.de>",
        "to": f'"Li Wei, Ningbo Precision Parts" <{REPLY_TO}>',
        "subject": "Automatische Antwort: Muster für Ihr Q1-Sortiment",
        # SendGrid posts the text in the mail's charset; Starlette, finding it is not UTF-8,
        # decodes it as Latin-1. The charsets field names the real one.
        "text": EXCHANGE_DE_TEXT.encode("windows-1252").decode("latin-1"),
        "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "windows-1252"}),
        "envelope": envelope(REPLY_TO, sender="J.Becker@Becker-Handel.example.de"),
    }  # fmt: skip
    assert parse(fields) == InboundMessage(
        from_email="j.becker@becker-handel.example.de",
        from_name="Jürgen Becker",
        to=[REPLY_TO],
        subject="Automatische Antwort: Muster für Ihr Q1-Sortiment",
        text=EXCHANGE_DE_TEXT,
        new_text=EXCHANGE_DE_TEXT.removesuffix("\n\nMit freundlichen Grüßen\nJürgen Becker"),
        message_id="<3d7a1b0c9f6e4f2a8b5c1d2e3f4a5b6c@EXCH01.becker-handel.example.de>",
        in_reply_to=[OUR_MESSAGE_ID],
        references=[OUR_MESSAGE_ID],
        reply_tokens=[TOKEN],
        auto_reply=True,
        auto_reply_reason="Auto-Submitted: auto-generated",
        return_date=DEC_2,
        headers={
            "Message-ID": "<3d7a1b0c9f6e4f2a8b5c1d2e3f4a5b6c@EXCH01.becker-handel.example.de>",
            "In-Reply-To": OUR_MESSAGE_ID,
            "References": OUR_MESSAGE_ID,
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        },
    )


def test_french_out_of_office_is_recognised_by_its_subject() -> None:
    text = (
        "Bonjour,\n\nJe suis absente du bureau jusqu'au 2 décembre inclus, avec un accès limité "
        "à mes e-mails.\nPour toute urgence : commandes@maison-dupont.example.fr\n\nCordialement,\n"
        "Claire Dupont"
    )
    message = parse(
        {
            "headers": f"From: Claire Dupont <c.dupont@maison-dupont.example.fr>\nTo: {REPLY_TO}\n"
            f"Subject: =?utf-8?q?R=C3=A9ponse_automatique_:_=C3=89chantillons?=\n"
            f"In-Reply-To: {OUR_MESSAGE_ID}\n",
            "from": "Claire Dupont <c.dupont@maison-dupont.example.fr>",
            "to": REPLY_TO,
            "subject": "Réponse automatique : Échantillons",
            "text": text,
            "charsets": UTF8_CHARSETS,
        }
    )
    assert (message.auto_reply, message.auto_reply_reason, message.return_date) == (
        True,
        "subject: Réponse automatique",
        DEC_2,
    )
    assert (message.from_name, message.text, message.in_reply_to) == (
        "Claire Dupont",
        text,
        [OUR_MESSAGE_ID],
    )


def test_spanish_out_of_office_is_recognised_by_its_body_and_bulk_precedence_is_not() -> None:
    text = (
        "Gracias por su mensaje.\n\nEstoy fuera de la oficina hasta el 2 de diciembre de 2026. "
        "Para asuntos urgentes, escriba a compras@importadora-ruiz.example.es.\n\nSaludos,\nMarta Ruiz"
    )
    message = parse(
        {
            "headers": f"From: Marta Ruiz <marta@importadora-ruiz.example.es>\nTo: {REPLY_TO}\n"
            "Subject: Re: Muestras para su gama del primer trimestre\nPrecedence: bulk\n",
            "from": "Marta Ruiz <marta@importadora-ruiz.example.es>",
            "to": REPLY_TO,
            "subject": "Re: Muestras para su gama del primer trimestre",
            "text": text,
        }
    )
    assert (message.auto_reply, message.auto_reply_reason, message.return_date) == (
        True,
        "body: fuera de la oficina",
        DEC_2,
    )
    assert message.headers == {"Precedence": "bulk"}


def test_chinese_out_of_office_in_html_only_with_subject_from_the_header_block() -> None:
    message = parse(
        {
            "headers": "From: =?UTF-8?B?546L6Iqz?= <wangfang@ningbo-trading.example.cn>\n"
            f"To: <{REPLY_TO}>\nSubject: =?UTF-8?B?6Ieq5Yqo5Zue5aSN77ya5qC35ZOB?=\n"
            "X-Mailer: Foxmail 7.2\nAuto-Submitted: no\n",
            "html": "<html><head><style>p{margin:0}</style></head><body>"
            "<div>您好！</div><div>我目前休假，我将于2026年12月2日返回。</div></body></html>",
            "envelope": envelope(REPLY_TO, sender="wangfang@ningbo-trading.example.cn"),
        }
    )
    assert message == InboundMessage(
        from_email="wangfang@ningbo-trading.example.cn",
        from_name="王芳",
        to=[REPLY_TO],
        subject="自动回复：样品",
        text="您好！\n我目前休假，我将于2026年12月2日返回。",
        new_text="您好！\n我目前休假，我将于2026年12月2日返回。",
        reply_tokens=[TOKEN],
        auto_reply=True,
        auto_reply_reason="subject: 自动回复",
        return_date=DEC_2,
        headers={"Auto-Submitted": "no"},
    )


def test_english_out_of_office_with_x_autoreply_header() -> None:
    text = (
        "Thank you for your email. I'm out of the office until December 2nd with limited access "
        "to email. For urgent orders please contact orders@harbor-supply.example.com."
    )
    message = parse(
        {
            "headers": "From: Tom Baker <tom@harbor-supply.example.com>\n"
            f"To: {REPLY_TO}\nSubject: Out of Office\nX-Autoreply: yes\nPrecedence: auto_reply\n",
            "from": "Tom Baker <tom@harbor-supply.example.com>",
            "to": REPLY_TO,
            "subject": "Out of Office",
            "text": text,
        }
    )
    assert (message.auto_reply, message.auto_reply_reason, message.return_date) == (
        True,
        "X-Autoreply: yes",
        DEC_2,
    )
    assert message.headers == {"X-Autoreply": "yes", "Precedence": "auto_reply"}


# --- correlation --------------------------------------------------------------------------


def test_reply_without_reply_address_is_matched_by_in_reply_to() -> None:
    # Anna answered the From address; Li's mailbox forwards to the inbound domain.
    message = parse(
        {
            "headers": "From: Anna Schmidt <a.schmidt@schmidt-maschinen.example.de>\n"
            "To: Li Wei <li.wei@factory.example.cn>\n"
            f"References: <CAJx8=Qm1@mail.gmail.com>\n {OUR_MESSAGE_ID}\n"
            f"In-Reply-To: {OUR_MESSAGE_ID}\n"
            "Message-ID: <CAJx8=Qm2@mail.gmail.com>\n",
            "from": "Anna Schmidt <a.schmidt@schmidt-maschinen.example.de>",
            "to": "Li Wei <li.wei@factory.example.cn>",
            "subject": "Re: Samples for your Q1 range",
            "text": "Please call me tomorrow.",
            "envelope": envelope(f"inbox@{INBOUND_DOMAIN}", sender="a.schmidt@schmidt-maschinen.example.de"),
        }
    )  # fmt: skip
    assert message.reply_tokens == []
    assert message.to == ["li.wei@factory.example.cn", f"inbox@{INBOUND_DOMAIN}"]
    assert message.in_reply_to == [OUR_MESSAGE_ID]
    assert message.references == ["<CAJx8=Qm1@mail.gmail.com>", OUR_MESSAGE_ID]
    assert message.referenced_message_ids() == [OUR_MESSAGE_ID, "<CAJx8=Qm1@mail.gmail.com>"]
    assert message.referenced_uuids() == [MESSAGE_UUID]


def test_case_folded_reply_address_among_several_recipients_yields_the_lower_case_token() -> None:
    folded = f"REPLY+{TOKEN.upper()}@{INBOUND_DOMAIN.upper()}"
    message = parse(
        {
            "from": "einkauf@schmidt-maschinen.example.de",
            "to": f'Li Wei <li.wei@factory.example.cn>, "Ningbo Replies" <{folded}>',
            "cc": "Anna Schmidt <a.schmidt@schmidt-maschinen.example.de>, reply+notatoken!@x.example",
            "envelope": envelope(folded, sender="einkauf@schmidt-maschinen.example.de"),
            "text": "Bitte Angebot für 500 Stück.",
        }
    )
    assert message.to == [
        "li.wei@factory.example.cn",
        REPLY_TO,
        "a.schmidt@schmidt-maschinen.example.de",
        "reply+notatoken!@x.example",
    ]
    assert message.reply_tokens == [TOKEN]


def test_message_ids_without_angle_brackets_are_bracketed() -> None:
    message = parse({"from": "a@b.example", "headers": "In-Reply-To: abc@def.example\n"})
    assert message.in_reply_to == ["<abc@def.example>"]


# --- raw mode -----------------------------------------------------------------------------

RAW_NEW_TEXT = "好的，请寄样品到我们宁波的仓库。\n\n王芳"
RAW_TEXT = (
    f"{RAW_NEW_TEXT}\n\n发件人: Li Wei <li.wei@factory.example.cn>\n"
    "发送时间: 2026年11月23日 10:00\n主题: 关于贵司第一季度产品的样品\n\n"
    "如果您不在办公室，请告诉我们。"
)


def _b64(text: str) -> str:
    return base64.encodebytes(text.replace("\n", "\r\n").encode()).decode()


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode()).decode()


RAW_FOXMAIL = (
    "Received: from out203-205-221-190.mail.qq.com (out203-205-221-190.mail.qq.com [203.205.221.190])\r\n"
    f"\tby mx.sendgrid.net with ESMTP id x1 for <{REPLY_TO}>; Mon, 23 Nov 2026 03:12:09 +0000\r\n"
    "From: =?UTF-8?B?546L6Iqz?= <wangfang@ningbo-trading.example.cn>\r\n"
    f"To: =?UTF-8?B?5p2O5Lyf?= <{REPLY_TO}>\r\n"
    "Cc: purchasing@ningbo-trading.example.cn\r\n"
    "Subject: =?UTF-8?B?5Zue5aSN77ya5YWz5LqO6LS15Y+456ys5LiA5a2j5bqm5Lqn5ZOB?=\r\n"
    " =?UTF-8?B?55qE5qC35ZOB?=\r\n"
    "Date: Mon, 23 Nov 2026 11:12:05 +0800\r\n"
    "Message-ID: <tencent_5B2E8C1F@qq.example>\r\n"
    f"In-Reply-To: {OUR_MESSAGE_ID}\r\n"
    f"References: {OUR_MESSAGE_ID}\r\n"
    "X-Mailer: Foxmail 7.2.25.228[cn]\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="----=_NextPart_6560F1A5_0E1B2C3D"\r\n'
    "\r\n"
    "This is a multi-part message in MIME format.\r\n"
    "\r\n"
    "------=_NextPart_6560F1A5_0E1B2C3D\r\n"
    'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    f"{_b64(RAW_TEXT)}"
    "\r\n"
    "------=_NextPart_6560F1A5_0E1B2C3D\r\n"
    'Content-Type: text/html; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    f"{_qp('<div>好的，请寄样品到我们宁波的仓库。</div>')}\r\n"
    "------=_NextPart_6560F1A5_0E1B2C3D--\r\n"
)


def test_raw_multipart_alternative_with_encoded_subject_is_parsed() -> None:
    message = parse(
        {
            "email": RAW_FOXMAIL,
            "to": REPLY_TO,
            "from": "wangfang@ningbo-trading.example.cn",
            "envelope": envelope(REPLY_TO, sender="wangfang@ningbo-trading.example.cn"),
            "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        }
    )
    assert message == InboundMessage(
        from_email="wangfang@ningbo-trading.example.cn",
        from_name="王芳",  # the from field has no display name; the From header has
        to=[REPLY_TO, "purchasing@ningbo-trading.example.cn"],
        subject="回复：关于贵司第一季度产品的样品",
        text=RAW_TEXT,
        new_text=RAW_NEW_TEXT,
        message_id="<tencent_5B2E8C1F@qq.example>",
        in_reply_to=[OUR_MESSAGE_ID],
        references=[OUR_MESSAGE_ID],
        reply_tokens=[TOKEN],
        headers={
            "Message-ID": "<tencent_5B2E8C1F@qq.example>",
            "In-Reply-To": OUR_MESSAGE_ID,
            "References": OUR_MESSAGE_ID,
        },
    )


def test_raw_message_alone_gives_sender_from_its_headers() -> None:
    message = parse({"email": RAW_FOXMAIL})
    assert (message.from_email, message.from_name) == ("wangfang@ningbo-trading.example.cn", "王芳")


def _raw_8bit(charset: str) -> bytes:
    return (
        f"From: Jürgen Becker <j.becker@becker-handel.example.de>\r\nTo: {REPLY_TO}\r\n"
        "Subject: Re: Muster\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Grüße aus Köln – Jürgen\r\n"
    ).encode(charset)


@pytest.mark.parametrize(
    ("raw", "decoded_by_caller"),
    [
        # Starlette: not UTF-8, so the whole field was decoded as Latin-1
        (_raw_8bit("windows-1252"), _raw_8bit("windows-1252").decode("latin-1")),
        # Starlette: valid UTF-8
        (_raw_8bit("utf-8"), _raw_8bit("utf-8").decode("utf-8")),
        # a caller decoding losslessly with surrogateescape
        (_raw_8bit("windows-1252"), _raw_8bit("windows-1252").decode("utf-8", "surrogateescape")),
    ],
    ids=["cp1252-as-latin1", "utf8", "cp1252-surrogateescape"],
)
def test_raw_8bit_body_is_decoded_with_its_declared_charset(
    raw: bytes, decoded_by_caller: str
) -> None:
    message = parse({"email": decoded_by_caller})
    assert message.text == "Grüße aus Köln – Jürgen"
    assert message.from_name == "Jürgen Becker"


def test_raw_attachment_is_not_taken_for_the_body() -> None:
    raw = (
        'Content-Type: multipart/mixed; boundary="b"\r\nFrom: a@b.example\r\n\r\n'
        '--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="x.txt"\r\n\r\n'
        "out of office\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Hello</p>\r\n--b--\r\n"
    )
    message = parse({"email": raw})
    assert (message.text, message.auto_reply) == ("Hello", False)


# --- leniency -----------------------------------------------------------------------------


def test_post_without_sender_or_recipient_is_malformed() -> None:
    with pytest.raises(MalformedInbound) as caught:
        parse({"subject": "hello", "text": "hi", "envelope": "{not json"})
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.field == "from/to"


def test_post_with_only_a_recipient_is_accepted() -> None:
    message = parse({"to": REPLY_TO})
    assert (message.from_email, message.to, message.reply_tokens) == (None, [REPLY_TO], [TOKEN])


def test_sender_falls_back_to_the_envelope() -> None:
    message = parse({"from": "<>", "envelope": envelope(REPLY_TO, sender="bounce@mta.example")})
    assert message.from_email == "bounce@mta.example"


def test_invalid_envelope_and_charsets_json_are_ignored() -> None:
    message = parse({"from": "a@b.example", "envelope": "[1, 2", "charsets": '"utf-8"'})
    assert (message.from_email, message.to) == ("a@b.example", [])


def test_unknown_or_hostile_charset_names_fall_back_to_utf8() -> None:
    for charset in ("x-unknown", "rot13", "idna", "utf-8\x00"):
        fields = {
            "from": "a@b.example",
            "text": "Gr\xfc\xdfe",
            "charsets": json.dumps({"text": charset}),
        }
        assert parse(fields).text == "Gr\ufffd\ufffde"


def test_nul_and_lone_surrogates_do_not_reach_the_message() -> None:
    message = parse({"from": "a@b.example", "subject": "a\x00b\ud800", "text": "x\udcffy"})
    assert (message.subject, message.text) == ("ab\ufffd", "x\ufffdy")
    message.model_dump_json()


# --- text helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "looks_like_it"),
    [
        ("On Mon, 23 Nov 2026 at 10:00, Li Wei <li.wei@factory.example.cn> wrote:", "On Monday I wrote the offer."),
        ("On Mon, 23 Nov 2026 at 10:00, Li Wei <li.wei@factory.example.cn>\nwrote:", "On Monday we\nwrote back"),
        ("Am Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Li Wei <li.wei@factory.example.cn>:", "Am Montag schrieb ich"),
        ("Le lun. 23 nov. 2026 à 10:00, Li Wei <li.wei@factory.example.cn> a écrit :", "Le lundi il a écrit"),
        ("El lun, 23 nov 2026 a las 10:00, Li Wei (<li.wei@factory.example.cn>) escribió:", "El lunes escribió"),
        ("-----Original Message-----", "Original message follows"),
        ("-----Ursprüngliche Nachricht-----", "Ursprüngliche Nachricht"),
        ("From: Li Wei <li.wei@factory.example.cn>\nSent: Monday, November 23, 2026 10:00 AM", "From: our side"),
        ("Von: Li Wei <li.wei@factory.example.cn>\nGesendet: Montag, 23. November 2026 10:00", "Von: uns"),
        ("发件人: Li Wei <li.wei@factory.example.cn>", "发件人很快"),
        ("发件人：Li Wei", "收件人: 我"),
    ],
)  # fmt: skip
def test_quoted_original_is_cut_at_its_attribution(marker: str, looks_like_it: str) -> None:
    assert reply_body(f"Thanks!\n\n{marker}\nold text\n> older") == "Thanks!"
    kept = f"Thanks!\n\n{looks_like_it}\nnew text"
    assert reply_body(kept) == kept


def test_quoted_lines_are_dropped_from_the_new_text() -> None:
    assert reply_body("> old\nnew\n  > also old\nmore") == "new\nmore"


def test_html_body_becomes_text_with_quotes_marked() -> None:
    html = (
        "<html><head><title>t</title><style>p{}</style></head><body>"
        "<p>Hi Li,</p><p>yes &amp; please<br>send</p><div class=gmail_quote>On Mon, Li Wei wrote:"
        "<blockquote><p>Dear Anna,</p>old</blockquote></div><script>x()</script></body></html>"
    )
    assert html_to_text(html) == (
        "Hi Li,\n\nyes & please\nsend\n\nOn Mon, Li Wei wrote:\n> Dear Anna,\n\n> old"
    )


def test_malformed_html_still_gives_text() -> None:
    assert html_to_text("<![if !supportLists]>Hi <b>there</b>") == "Hi there"


def test_html_only_reply_quotes_are_not_read_as_new_text() -> None:
    message = parse(
        {
            "from": "a@b.example",
            "html": "<p>Call me.</p><blockquote>I am out of the office until 2 December</blockquote>",
        }
    )
    assert (message.new_text, message.auto_reply) == ("Call me.", False)


# --- robustness ---------------------------------------------------------------------------

_FIELD_NAMES = st.sampled_from(
    ["headers", "text", "html", "from", "to", "cc", "subject", "envelope", "charsets", "email",
     "spam_score", "SPF", "dkim", "sender_ip", "attachments"]
)  # fmt: skip
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=120)
_MAIL_BITS = st.sampled_from(
    ['Content-Type: multipart/mixed; boundary="b"\r\n', "--b\r\n", "--b--\r\n",
     "Content-Transfer-Encoding: base64\r\n", "Content-Transfer-Encoding: quoted-printable\r\n",
     'Content-Type: text/plain; charset="', "Content-Type: text/html; charset*=utf-8''%E4\r\n",
     "Content-Disposition: attachment\r\n", "From: ", "To: ", "Cc: ", "Subject: =?utf-8?b?",
     "In-Reply-To: ", "References: ", "Auto-Submitted: ", "=?", "?=", "?q?", "\r\n", "\r\n\r\n",
     "\r\n ", "<", ">", "@", '"', ",", ";", ":", "(", ")", "\\", "reply+", "<![foo[",
     "<blockquote>", '{"to": [', '], "from": ', "}", "\udcff", "\x00", "é", "until 2.12."]
)  # fmt: skip
_MAILISH = st.lists(st.one_of(_MAIL_BITS, _ANY_TEXT), max_size=30).map("".join)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.dictionaries(
        st.one_of(_FIELD_NAMES, st.text(max_size=8)), st.one_of(_ANY_TEXT, _MAILISH), max_size=8
    )
)
def test_any_post_gives_a_message_or_malformed_inbound(fields: dict[str, str]) -> None:
    try:
        message = parse_inbound(fields, received=RECEIVED)
    except MalformedInbound:
        return
    message.model_dump_json()  # no NUL, no lone surrogate
    assert message.from_email is not None or message.to


def test_very_long_recipient_list_is_read_without_the_slow_parser() -> None:
    to = ", ".join(f"Buyer {i} <buyer{i}@importer.example.de>" for i in range(2000))
    assert len(to) > HEADER_PARSE_MAX_CHARS
    message = parse({"from": "a@b.example", "to": f"{to}, {REPLY_TO}"})
    assert len(message.to) == 2001
    assert message.reply_tokens == [TOKEN]
