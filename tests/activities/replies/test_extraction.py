"""`reply_body`: the new text of a reply, without quoted history, signature or disclaimer."""

from __future__ import annotations

import time

import pytest

from activities.replies.extraction import MAX_INPUT_CHARS, reply_body

OUR_MAIL = (
    "Dear buyer,\nwe offer free samples and a price list, MOQ 500 pcs.\n"
    "Not interested? Unsubscribe: https://mail.example.com/u/abc\n"
)


def quoted(text: str) -> str:
    return "".join(f"> {line}\n" for line in text.splitlines())


# --- quoted history -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 9 Nov 2026 at 09:12, Li Wei <li.wei@acme.example.cn> wrote:",
        "On Mon, 9 Nov 2026 at 09:12, Li Wei <\nli.wei@acme.example.cn> wrote:",
        "Li Wei <li.wei@acme.example.cn> wrote:",
        "Am Mo., 9. Nov. 2026 um 09:12 Uhr schrieb Li Wei <li.wei@acme.example.cn>:",
        "Li Wei <li.wei@acme.example.cn> schrieb am 09.11.2026 um 09:12:",
        "Le lun. 9 nov. 2026 à 09:12, Li Wei <li.wei@acme.example.cn> a écrit :",
        "El lun, 9 nov 2026 a las 09:12, Li Wei (<li.wei@acme.example.cn>) escribió:",
        "Em seg., 9 de nov. de 2026 às 09:12, Li Wei <li.wei@acme.example.cn> escreveu:",
        "Il giorno lun 9 nov 2026 alle ore 09:12 Li Wei <li.wei@acme.example.cn> ha scritto:",
        "Op ma 9 nov 2026 om 09:12 schreef Li Wei <li.wei@acme.example.cn>:",
        "在 2026年11月9日 周一 09:12，Li Wei <li.wei@acme.example.cn> 写道：",
        "Li Wei <li.wei@acme.example.cn> 于2026年11月9日周一 09:12写道：",
    ],
)  # fmt: skip
def test_history_below_an_attribution_line_is_cut(attribution: str) -> None:
    body = f"Please send the catalogue.\n\n{attribution}\n{quoted(OUR_MAIL)}"
    assert reply_body(body) == "Please send the catalogue."


@pytest.mark.parametrize(
    "header",
    [
        "-----Original Message-----\nFrom: Li Wei <li.wei@acme.example.cn>\nSent: Monday, November 9, 2026 9:12 AM\nTo: Buyer\nSubject: Valves",
        "________________________________\nFrom: Li Wei <li.wei@acme.example.cn>\nSent: Monday, November 9, 2026 9:12 AM",
        "*From:* Li Wei <li.wei@acme.example.cn>\n*Sent:* Monday, November 9, 2026 9:12 AM",
        "Von: Li Wei <li.wei@acme.example.cn>\nGesendet: Montag, 9. November 2026 09:12\nAn: Einkauf\nBetreff: Kugelhähne",
        "-----Ursprüngliche Nachricht-----\nVon: Li Wei\nDatum: 09.11.2026",
        "De : Li Wei <li.wei@acme.example.cn>\nEnvoyé : lundi 9 novembre 2026 09:12\nÀ : Achats\nObjet : Vannes",
        "De: Li Wei <li.wei@acme.example.cn>\nEnviado el: lunes, 9 de noviembre de 2026 9:12\nPara: Compras\nAsunto: Válvulas",
        "发件人: Li Wei <li.wei@acme.example.cn>\n发送时间: 2026年11月9日 9:12\n收件人: 采购\n主题: 球阀",
        "发件人：Li Wei",
        "------------------ 原始邮件 ------------------\n发件人: \"Li Wei\"<li.wei@acme.example.cn>;",
        "-----原始邮件-----",
        "寄件者: Li Wei <li.wei@acme.example.cn>\n寄件日期: 2026年11月9日 9:12\n主旨: 球閥",
        "---------- Forwarded message ---------\nFrom: Li Wei <li.wei@acme.example.cn>",
    ],
)  # fmt: skip
def test_history_below_an_outlook_header_block_is_cut(header: str) -> None:
    body = f"Bitte Preisliste.\n\n{header}\n\n{OUR_MAIL}"
    assert reply_body(body) == "Bitte Preisliste."


@pytest.mark.parametrize(
    "looks_like_it",
    [
        "On Monday I wrote the offer.",
        "On Monday we\nwrote back",
        "As I wrote: we need 500 pcs",
        "Am Montag schrieb ich",
        "Le lundi il a écrit",
        "El lunes escribió",
        "From: our side, nothing new",
        "Original message follows",
        "发件人很快",
        "收件人: 我",
    ],
)
def test_text_that_only_looks_like_a_marker_is_kept(looks_like_it: str) -> None:
    body = f"Thanks!\n\n{looks_like_it}\nnew text"
    assert reply_body(body) == body


def test_quoted_lines_are_dropped_and_inline_answers_kept() -> None:
    body = "> Do you need samples?\nYes, two.\n  > And a price list?\nNo.\n>> older"
    assert reply_body(body) == "Yes, two.\nNo."


def test_a_reply_written_below_the_quote_is_found() -> None:
    body = f"On Mon, 9 Nov 2026, Li Wei <li.wei@acme.example.cn> wrote:\n{quoted(OUR_MAIL)}\nRemove me."
    assert reply_body(body) == "Remove me."


def test_a_forward_without_a_comment_has_no_new_text() -> None:
    body = f"From: Li Wei <li.wei@acme.example.cn>\nSent: Monday\nTo: Buyer\n\n{OUR_MAIL}"
    assert reply_body(body) == ""


# --- signatures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "new_text"),
    [
        ("Not interested.\n\n-- \nJohn Smith\nACME Ltd", "Not interested."),
        ("Not interested.\n--\nJohn", "Not interested."),
        ("Not interested.\n\nSent from my iPhone", "Not interested."),
        ("Not interested.\n\nGet Outlook for Android", "Not interested."),
        ("Kein Interesse.\n\nVon meinem iPhone gesendet", "Kein Interesse."),
        ("Pas intéressé.\n\nEnvoyé de mon iPhone", "Pas intéressé."),
        ("No me interesa.\n\nEnviado desde mi iPhone", "No me interesa."),
        ("不感兴趣。\n\n发自我的iPhone", "不感兴趣。"),
        ("Send prices.\n\nBest regards,\nMark Evans\nHead of Procurement | Price & Partners Ltd\nT +44 20 5550 1234", "Send prices."),
        ("Send prices.\nThanks, John", "Send prices."),
        ("Bitte Muster.\n\nMit freundlichen Grüßen\nPetra Lang\nEinkauf & Katalogmanagement", "Bitte Muster."),
        ("Envoyez le devis.\n\nCordialement,\nPierre Martin\nPrix & Compagnie", "Envoyez le devis."),
        ("Envíen el catálogo.\n\nReciba un cordial saludo,\nElena Sanz\nPrecio Justo S.L.", "Envíen el catálogo."),
        ("请报价。\n\n祝好\n王伟\n目录印刷有限公司\n电话：0769-5550 1288", "请报价。"),
    ],
)  # fmt: skip
def test_signatures_are_removed(body: str, new_text: str) -> None:
    assert reply_body(body) == new_text


@pytest.mark.parametrize(
    "body",
    [
        "Hi Anna,\nThanks, but please remove me from your list.\nJohn",
        "Hi Anna,\n\nCan you send:\n- price list\n- MOQ for 2 SKUs",
        "Thanks!\n\nCould you also send the MOQ for DN50?",
        "Please call me.\n\nThanks\n\nAlso: what is your MOQ for DN50?",
        "Danke!",
    ],
)
def test_a_sign_off_followed_by_more_text_is_not_a_signature(body: str) -> None:
    assert reply_body(body) == body


# --- disclaimers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "disclaimer",
    [
        "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended solely for the addressee.",
        "This message is intended only for the use of the individual to whom it is addressed. If you have received this message in error, please delete it.",
        "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der richtige Adressat sind, informieren Sie bitte sofort den Absender.",
        "Ce message et ses pièces jointes sont confidentiels et destinés exclusivement à leurs destinataires.",
        "Este mensaje es confidencial y está dirigido exclusivamente a su destinatario. Si usted no es el destinatario, bórrelo.",
        "本邮件及其附件含有保密信息，仅限于发送给上面地址中列出的个人或群组。",
        "免责声明：本邮件内容仅代表个人观点。",
    ],
)  # fmt: skip
def test_disclaimers_are_removed(disclaimer: str) -> None:
    assert reply_body(f"Unsubscribe me.\n\n{disclaimer}") == "Unsubscribe me."


def test_an_external_mail_banner_above_the_text_is_dropped() -> None:
    body = (
        "CAUTION: This email originated from outside of the organization. Do not click links.\n\n"
        "Please send the price list."
    )
    assert reply_body(body) == "Please send the price list."


# --- weird input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "new_text"),
    [
        ("", ""),
        ("   \n\n\t", ""),
        ("a\x00b remove me", "ab remove me"),
        ("hi \ud800 there", "hi \ufffd there"),
        ("> only\n> quoted\n> lines", ""),
        ("-- \nJohn Smith", ""),
        ("Sent from my iPhone", ""),
        ("line one\r\nline two\rline three", "line one\nline two\nline three"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("\ufeff\u200bRemove\u00a0me", "Remove me"),
    ],
)
def test_weird_input_gives_clean_text(body: str, new_text: str) -> None:
    assert reply_body(body) == new_text


@pytest.mark.parametrize(
    "huge",
    [
        "please send the price list\n" * 1_200_000,
        "x" * 30_000_000,
        ">" * 30_000_000,
        "On 1 wrote\n" * 3_000_000,
        "To: a\n" * 5_000_000,
        "Thanks\n" * 5_000_000,
        "免责声明\n\n" * 3_000_000,
    ],
    ids=["lines", "one-line", "quote-marks", "attributions", "headers", "sign-offs", "disclaimers"],
)
def test_a_30_mb_body_is_read_from_its_start_quickly(huge: str) -> None:
    started = time.perf_counter()
    new_text = reply_body(huge)
    assert time.perf_counter() - started < 2.0
    assert len(new_text) <= MAX_INPUT_CHARS
