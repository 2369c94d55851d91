"""Rendering with hostile contact data: every template under templates/ (each sequence, language
and A/B variant, found on disk) keeps its own markup, escapes the contact's, keeps the text part
plain and the subject one clean header line; a template cannot turn escaping off."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from activities.contacts.double_opt_in import TEMPLATE as OPT_IN_TEMPLATE
from activities.contacts.double_opt_in import OptInLinks, OptInService
from activities.enrollment.rendering import (
    GREETINGS,
    Recipient,
    RenderedEmail,
    Renderer,
    SenderIdentity,
    html_footer,
    single_line,
)
from activities.enrollment.sendgrid_transport import SendGridTransport
from models.errors import TemplateError
from tests.factories import (
    PUBLIC_URL,
    SECRET,
    TEMPLATES,
    make_contact,
    make_sender,
    sending_service,
    step_input,
)
from tests.sim_fixtures import SIM_API_KEY

UNSUBSCRIBE_URL = "https://nurture.example.test/u/tok?a=1&b=2"
CONFIRM_URL = "https://nurture.example.test/c/tok"
#: A sender whose own name and address hold characters HTML escapes: the footer shows them once.
SENDER = SenderIdentity(
    from_name='Li Wei & Sons "Ningbo"',
    from_email="li.wei@factory.example.cn",
    postal_address="88 Harbour Road <Unit 5>\nNingbo 315800, China",
)
BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


@dataclass(frozen=True)
class Hostile:
    """A value a contact field may hold, and the single line every part must show instead."""

    id: str
    value: str
    shown: str


QUOTES = "O'Brien \"Bob\" '><img src=x onerror=alert(1)>"
HOSTILE = [
    Hostile("script", "<script>alert(1)</script>", "<script>alert(1)</script>"),
    Hostile(
        "phishing-link",
        '<a href="https://evil.example">Click to verify</a>',
        '<a href="https://evil.example">Click to verify</a>',
    ),
    Hostile("ampersand-and-tag", "Müller & Söhne <GmbH>", "Müller & Söhne <GmbH>"),
    Hostile("quotes", QUOTES, QUOTES),
    Hostile("crlf", "Anna\r\nBcc: x@evil.example", "Anna Bcc: x@evil.example"),
    Hostile("controls", "Anna\tMaria\x00\x07\x1b[31m\u2028Bcc: x", "Anna Maria [31m Bcc: x"),
    # RLO turns "moc.elpmaxe.live" into "evil.example.com" on screen; the override goes, the
    # invisible right-to-left mark (needed by Arabic and Hebrew names) stays.
    Hostile(
        "bidi",
        "\u202emoc.elpmaxe.live\u202c \u2067سمير\u2069 \u200fשרה",
        "moc.elpmaxe.live سمير \u200fשרה",
    ),
]


@dataclass(frozen=True)
class TemplateFile:
    """One template file: `<sequence>/<step>[@<variant>][.<language>].jinja`."""

    file: str  # under templates/
    name: str  # as the renderer knows it: `trade_intro/intro@question`
    language: str | None

    @classmethod
    def of(cls, path: Path) -> TemplateFile:
        stem, _, language = path.name.removesuffix(".jinja").partition(".")
        return cls(
            path.relative_to(TEMPLATES).as_posix(), f"{path.parent.name}/{stem}", language or None
        )


#: Found on disk, so a new template, language or variant is covered without touching this file.
TEMPLATE_FILES = [TemplateFile.of(p) for p in sorted(TEMPLATES.rglob("*.jinja"))]


def render(renderer: Renderer, template: TemplateFile, recipient: Recipient) -> RenderedEmail:
    if template.file == OPT_IN_TEMPLATE:  # the one mail with its own footer and no unsubscribe
        return renderer.render_blocks(
            template.name, recipient, SENDER, links={"confirm_url": CONFIRM_URL}
        )
    return renderer.render(template.name, recipient, SENDER, unsubscribe_url=UNSUBSCRIBE_URL)


def recipient(value: str, *, language: str | None, named: bool = True) -> Recipient:
    return Recipient(
        first_name=value if named else None,
        last_name=value,
        company=value,
        country=value,
        language=language,
        custom={"note": value},
    )


class Html(HTMLParser):
    """Elements (tag and attributes) and visible text of an HTML part."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text_parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


def test_the_templates_folder_is_found() -> None:
    files = {t.file for t in TEMPLATE_FILES}
    assert {"trade_intro/intro.jinja", "trade_intro/intro@question.jinja", OPT_IN_TEMPLATE} <= files


@pytest.mark.parametrize("named", [True, False], ids=["named", "nameless"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda t: t.file)
def test_hostile_contact_data_is_escaped_in_html_plain_in_text_and_one_line_in_subject(
    renderer: Renderer, template: TemplateFile, hostile: Hostile, named: bool
) -> None:
    benign = render(renderer, template, recipient("Anna", language=template.language, named=named))
    email = render(
        renderer, template, recipient(hostile.value, language=template.language, named=named)
    )
    expected_greeting = f"Hi {hostile.shown}," if named else f"Hi {hostile.shown} team,"
    if template.language in GREETINGS:  # a template in another language greets in it
        greets_named, greets_nameless = GREETINGS[template.language]
        expected_greeting = (
            greets_named.format(first_name=hostile.shown) if named else greets_nameless
        )

    # HTML: exactly the template's own elements, the contact's markup shown as text.
    html = Html(email.html)
    assert html.elements == Html(benign.html).elements
    assert not any(tag in {"script", "img"} for tag, _ in html.elements)
    assert all(
        "evil.example" not in (value or "") for _, attrs in html.elements for _, value in attrs
    )
    assert expected_greeting in html.text
    assert "&amp;amp;" not in email.html
    assert "&amp;lt;" not in email.html

    # Text: the value as written (no entities), and the greeting line stays one line.
    assert email.text.splitlines()[0] == expected_greeting
    assert "\r" not in email.text
    assert not any(line.startswith("Bcc:") for line in email.text.splitlines())
    assert not any(c in BIDI_CONTROLS for c in email.text)
    if "&" in hostile.value or "<" in hostile.value:
        assert "&amp;" not in email.text
        assert "&lt;" not in email.text

    # Subject: one header line, no control characters, no bidi controls, not entity-escaped.
    assert email.subject == email.subject.strip()
    assert not any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in email.subject)
    assert not any(c in BIDI_CONTROLS for c in email.subject)
    assert "&amp;" not in email.subject
    assert "&lt;" not in email.subject

    # The footer (the opt-in mail's own, or the compliance footer): once, escaped once.
    assert html.text.count("88 Harbour Road <Unit 5>") == 1
    assert html.text.count('Li Wei & Sons "Ningbo"') >= 1
    assert email.text.count("88 Harbour Road <Unit 5>") == 1
    if template.file != OPT_IN_TEMPLATE:
        assert email.html.endswith(html_footer(SENDER, UNSUBSCRIBE_URL))
        assert email.html.count("Unsubscribe</a>") == 1
        assert ("a", [("href", UNSUBSCRIBE_URL)]) in html.elements
        assert email.text.rstrip().endswith(f"Unsubscribe: {UNSUBSCRIBE_URL}")


def test_a_company_in_the_subject_is_shown_as_written(renderer: Renderer) -> None:
    contact = recipient("Müller & Söhne <GmbH>\r\nBcc: x@evil.example", language=None)

    email = renderer.render("trade_intro/intro", contact, SENDER, unsubscribe_url=UNSUBSCRIBE_URL)

    assert email.subject.startswith("Müller & Söhne <GmbH> Bcc: x@evil.example: ")


# --- single_line -------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_single_line_keeps_text_and_drops_line_breaks_controls_and_bidi_overrides(
    hostile: Hostile,
) -> None:
    assert single_line(hostile.value) == hostile.shown


def test_single_line_collapses_every_kind_of_line_break() -> None:
    breaks = "\r\n\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
    assert single_line(f"  Anna{breaks}Schmidt  ") == "Anna Schmidt"


# --- a template cannot turn escaping off -------------------------------------------------------


def write(tmp_path: Path, html: str, name: str = "step") -> str:
    folder = tmp_path / "seq"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.jinja").write_text(
        "{% block subject %}Parts{% endblock %}"
        "{% block text %}{{ greeting }}{% endblock %}"
        f"{{% block html %}}{html}{{% endblock %}}",
        encoding="utf-8",
    )
    return f"seq/{name}"


def render_tmp(tmp_path: Path, name: str, company: str = "<b>ACME</b>") -> RenderedEmail:
    contact = Recipient(
        first_name=None, last_name=None, company=company, country=None, language=None, custom={}
    )
    return Renderer(tmp_path).render(name, contact, SENDER, unsubscribe_url=UNSUBSCRIBE_URL)


@pytest.mark.parametrize(
    "html",
    [
        "<p>{{ contact.company|safe }}</p>",
        "<p>{{ contact.company|e|safe }}</p>",
        "<p>{{ ('<b>' ~ contact.company ~ '</b>')|safe }}</p>",
        "{% set raw = contact.company %}<p>{{ raw|safe }}</p>",
        "<p>{{ greeting|safe }}</p>",
        "{% autoescape false %}<p>{{ contact.company }}</p>{% endautoescape %}",
        "<p>{{ [contact.company]|map('safe')|join }}</p>",
        "{% set f = 'safe' %}<p>{{ [contact.company]|map(f)|join }}</p>",
        "<p>{{ [contact.company]|map('tojson')|join }}</p>",
        '<a title="{{ contact.company|tojson }}">x</a>',
        "{% filter safe %}<p>{{ contact.company }}</p>{% endfilter %}",
    ],
    ids=[
        "safe",
        "escaped-then-safe",
        "concatenation",
        "via-set",
        "greeting",
        "autoescape-false",
        "map-safe",
        "map-filter-named-by-variable",
        "map-tojson",
        "tojson-in-attribute",
        "filter-block-safe",
    ],
)
def test_a_template_that_would_output_contact_data_raw_is_refused(
    tmp_path: Path, html: str
) -> None:
    name = write(tmp_path, html)

    with pytest.raises(TemplateError, match=r"(\|safe|autoescaping|map\(|No filter named)"):
        render_tmp(tmp_path, name)


def test_an_included_template_is_held_to_the_same_rule(tmp_path: Path) -> None:
    write(tmp_path, "<p>{{ contact.company|safe }}</p>", name="partial")
    name = write(tmp_path, '{% include "seq/partial.jinja" %}')

    with pytest.raises(TemplateError, match=r"\|safe"):
        render_tmp(tmp_path, name)


def test_deliberate_html_is_a_literal_marked_safe_by_the_template(tmp_path: Path) -> None:
    name = write(
        tmp_path,
        '<p>{{ "<b>Hannover Messe</b>"|safe }} {{ contact.company }}</p>'
        "<p>{{ contact.company }}</p>"
        "{% autoescape true %}<p>{{ contact.company }}</p>{% endautoescape %}",
    )

    email = render_tmp(tmp_path, name)

    assert email.html.startswith(
        "<p><b>Hannover Messe</b> &lt;b&gt;ACME&lt;/b&gt;</p>"
        "<p>&lt;b&gt;ACME&lt;/b&gt;</p><p>&lt;b&gt;ACME&lt;/b&gt;</p>"
    )
    assert email.text.startswith("Hi <b>ACME</b> team,")


# --- through the real send paths into the simulator --------------------------------------------

PHISHING = '<a href="https://evil.example">Click to verify</a>'


def hostile_contact(engine: sa.Engine) -> Any:
    return make_contact(
        engine,
        first_name=f"{PHISHING}\r\nBcc: x@evil.example",
        last_name="\u202eevil",
        company="Müller & Söhne <GmbH>\r\nX-Injected: 1",
    )


def assert_escaped(html: str) -> None:
    parsed = Html(html)
    assert all("evil.example" not in (v or "") for _, attrs in parsed.elements for _, v in attrs)
    assert f"Hi {PHISHING} Bcc: x@evil.example," in parsed.text
    assert "&amp;amp;" not in html


def test_send_step_mails_the_hostile_contact_escaped_with_headers_intact(
    engine: sa.Engine, sim: Any
) -> None:
    make_sender(engine)
    contact = hostile_contact(engine)
    step = step_input(contact)

    sending_service(engine, sim.url, SIM_API_KEY).send_step(step)

    [mail] = httpx.get(f"{sim.url}/_sim/messages").json()
    assert mail["recipient"] == contact.email
    assert mail["subject"] == (
        "Müller & Söhne <GmbH> X-Injected: 1: a reliable parts supplier for your next order"
    )
    assert set(mail["headers"]) == {"Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"}
    assert not any("\r" in v or "\n" in v for v in mail["headers"].values())
    assert_escaped(mail["html"])
    assert mail["text"].startswith(f"Hi {PHISHING} Bcc: x@evil.example,\n")
    # The To display name is one line too: no CR/LF, no bidi override.
    [received] = sim.store.messages(recipient=contact.email)
    assert received.recipient_name == f"{PHISHING} Bcc: x@evil.example evil"


def test_double_opt_in_request_mails_the_hostile_contact_escaped(
    engine: sa.Engine, sim: Any
) -> None:
    make_sender(engine)
    contact = hostile_contact(engine)
    service = OptInService(
        engine,
        SendGridTransport(api_key=SIM_API_KEY, host=sim.url, timeout_seconds=5),
        OptInLinks(PUBLIC_URL, SECRET),
        TEMPLATES,
    )

    service.request(contact.id)

    [mail] = sim.store.messages(recipient=contact.email)
    assert mail.subject == "Please confirm you want to hear from Li Wei, Ningbo Precision Parts"
    assert_escaped(mail.html or "")
    assert "Müller &amp; Söhne &lt;GmbH&gt; X-Injected: 1" in (mail.html or "")
    assert (mail.text or "").startswith(f"Hi {PHISHING} Bcc: x@evil.example,\n")
    assert not any(c in BIDI_CONTROLS for c in (mail.html or "") + (mail.text or ""))
    assert mail.recipient_name == f"{PHISHING} Bcc: x@evil.example evil"
