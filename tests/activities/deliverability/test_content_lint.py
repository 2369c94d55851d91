"""Content lint: each rule fires on a template that breaks it and stays quiet on one that does not;
the shipped trade_intro templates lint without errors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from activities.deliverability.content_lint import (
    LintReport,
    LintRule,
    Severity,
    lint_sequence,
    lint_template,
)
from activities.enrollment.rendering import Recipient, RenderedEmail, Renderer, SenderIdentity
from models.settings import PROJECT_ROOT

GOOD_TEXT = (
    "We make stainless fasteners to order for importers and ship with documents your customs "
    "broker will not have to chase. If you are sourcing for the coming season, I would be glad "
    "to send specifications and a sample quotation. Would that be useful for your team?"
)


def write(
    root: Path,
    name: str = "seq/step",
    *,
    subject: str = "Fasteners for {{ contact.company or 'your next order' }}",
    text: str = "{{ greeting }}\n\n" + GOOD_TEXT,
    html: str = "<p>{{ greeting }}</p><p>" + GOOD_TEXT + "</p>",
    raw: str | None = None,
) -> str:
    path = root / f"{name}.jinja"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        raw
        if raw is not None
        else (
            f"{{% block subject %}}{subject}{{% endblock %}}\n"
            f"{{% block text %}}{text}{{% endblock %}}\n"
            f"{{% block html %}}{html}{{% endblock %}}\n"
        ),
        encoding="utf-8",
    )
    return name


def lint(root: Path, **template: str) -> LintReport:
    return lint_template(write(root, **template), templates_dir=root)


def found(report: LintReport, rule: LintRule, severity: Severity | None = None) -> list[str]:
    return [
        f.message
        for f in report.findings
        if f.rule is rule and (severity is None or f.severity is severity)
    ]


def test_a_clean_template_has_no_findings(tmp_path: Path) -> None:
    report = lint(tmp_path)
    assert report.findings == ()
    assert report.ok


def test_shipped_trade_intro_templates_lint_without_errors() -> None:
    report = lint_sequence(
        "trade_intro", ["intro", "bump", "case_study", "offer"], PROJECT_ROOT / "templates"
    )
    assert report.templates == (
        "trade_intro/intro",
        "trade_intro/bump",
        "trade_intro/case_study",
        "trade_intro/offer",
    )
    assert report.errors == [], report.errors
    assert report.ok


# --- spam phrases ------------------------------------------------------------------------------


def test_three_spam_phrases_are_an_error(tmp_path: Path) -> None:
    report = lint(tmp_path, text="{{ greeting }} Act now: FREE samples, limited time only.")
    [message] = found(report, LintRule.SPAM_PHRASE, Severity.ERROR)
    assert "act now" in message
    assert "free" in message
    assert "limited time" in message
    assert not report.ok


def test_one_or_two_spam_phrases_are_a_warning(tmp_path: Path) -> None:
    report = lint(tmp_path, text="{{ greeting }} Samples are free. " + GOOD_TEXT)
    assert found(report, LintRule.SPAM_PHRASE, Severity.WARNING) == [
        "1 spam-trigger phrase(s): 'free'"
    ]
    assert report.ok


def test_words_containing_a_trigger_are_not_the_trigger(tmp_path: Path) -> None:
    text = "{{ greeting }} Freight is included; you have the freedom to choose. " + GOOD_TEXT
    assert found(lint(tmp_path, text=text), LintRule.SPAM_PHRASE) == []


def test_trade_terms_that_contain_a_trigger_word_pass(tmp_path: Path) -> None:
    text = (
        "{{ greeting }} We quote Free On Board Ningbo, cash against documents, or against a bank "
        "guarantee; 质量保证 included. " + GOOD_TEXT
    )
    assert found(lint(tmp_path, text=text), LintRule.SPAM_PHRASE) == []


def test_chinese_spam_phrases_are_found(tmp_path: Path) -> None:
    report = lint(tmp_path, text="{{ greeting }} 最低价!免费样品,限时优惠。")
    [message] = found(report, LintRule.SPAM_PHRASE, Severity.ERROR)
    assert "最低价" in message
    assert "免费" in message
    assert "限时" in message
    assert "优惠" in message


def test_full_width_and_zero_width_spelling_does_not_hide_a_phrase(tmp_path: Path) -> None:
    report = lint(tmp_path, text="{{ greeting }} ＦＲＥＥ and c\u200bash. " + GOOD_TEXT)
    [message] = found(report, LintRule.SPAM_PHRASE)
    assert "'free'" in message
    assert "'cash'" in message


def test_spam_phrase_in_a_branch_no_sample_renders_is_found(tmp_path: Path) -> None:
    text = "{{ greeting }} {% if contact.country == 'US' %}Buy now!{% endif %} " + GOOD_TEXT
    assert found(lint(tmp_path, text=text), LintRule.SPAM_PHRASE) == [
        "1 spam-trigger phrase(s): 'buy now'"
    ]


def test_a_trigger_word_inside_a_url_is_not_counted(tmp_path: Path) -> None:
    url = "https://example.com/free-samples"
    report = lint(
        tmp_path,
        text=f"{{{{ greeting }}}} {GOOD_TEXT} Catalogue: {url}",
        html=f'<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT} <a href="{url}">Catalogue</a></p>',
    )
    assert found(report, LintRule.SPAM_PHRASE) == []


# --- all caps ----------------------------------------------------------------------------------


def test_a_subject_mostly_in_capitals_is_an_error(tmp_path: Path) -> None:
    report = lint(tmp_path, subject="BEST FASTENERS for you")
    assert found(report, LintRule.ALL_CAPS, Severity.ERROR)


def test_a_shouted_word_in_the_subject_is_a_warning(tmp_path: Path) -> None:
    report = lint(tmp_path, subject="Fasteners at a SPECIAL rate for your next order")
    assert found(report, LintRule.ALL_CAPS, Severity.WARNING) == [
        "shouted word in the subject: 'SPECIAL'"
    ]
    assert found(report, LintRule.ALL_CAPS, Severity.ERROR) == []


def test_trade_acronyms_and_short_capitals_in_the_subject_pass(tmp_path: Path) -> None:
    report = lint(tmp_path, subject="FOB Ningbo, MOQ 500, INCOTERMS 2020 and ISO 9001 papers")
    assert found(report, LintRule.ALL_CAPS) == []


# --- exclamation marks -------------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["Great news!!", "New line! Samples ready!", "样品已备好！！"])
def test_repeated_exclamation_in_the_subject_is_an_error(tmp_path: Path, subject: str) -> None:
    assert found(lint(tmp_path, subject=subject), LintRule.EXCLAMATION, Severity.ERROR)


def test_one_exclamation_in_the_subject_passes(tmp_path: Path) -> None:
    assert found(lint(tmp_path, subject="Samples are ready!"), LintRule.EXCLAMATION) == []


def test_triple_exclamation_in_the_body_is_an_error(tmp_path: Path) -> None:
    report = lint(tmp_path, text="{{ greeting }} " + GOOD_TEXT + " Reply today!!!")
    assert found(report, LintRule.EXCLAMATION, Severity.ERROR) == ["body has '!!!'"]


def test_double_exclamation_in_the_body_is_a_warning(tmp_path: Path) -> None:
    report = lint(tmp_path, text="{{ greeting }} " + GOOD_TEXT + " Thanks!!")
    assert found(report, LintRule.EXCLAMATION, Severity.WARNING) == ["body has '!!'"]
    assert report.ok


# --- impersonal greeting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "opening",
    ["Dear Sir/Madam,", "Dear Sir or Madam,", "To whom it may concern,", "尊敬的先生/女士:"],
)
def test_an_impersonal_greeting_is_an_error(tmp_path: Path, opening: str) -> None:
    report = lint(tmp_path, text=f"{opening}\n\n{GOOD_TEXT} {{{{ contact.company }}}}")
    assert found(report, LintRule.IMPERSONAL_GREETING, Severity.ERROR)


def test_an_impersonal_fallback_for_contacts_without_a_name_is_an_error(tmp_path: Path) -> None:
    text = (
        "{% if contact.first_name %}Hi {{ contact.first_name }},{% else %}Dear Sir/Madam,"
        "{% endif %}\n\n" + GOOD_TEXT
    )
    report = lint(tmp_path, text=text)
    assert found(report, LintRule.IMPERSONAL_GREETING) == ["impersonal greeting: 'Dear Sir/Madam'"]


def test_a_named_greeting_passes(tmp_path: Path) -> None:
    text = "Dear {{ contact.first_name or 'colleague' }},\n\n" + GOOD_TEXT
    assert found(lint(tmp_path, text=text), LintRule.IMPERSONAL_GREETING) == []


# --- personalisation ---------------------------------------------------------------------------


def test_a_template_without_contact_fields_or_greeting_is_a_warning(tmp_path: Path) -> None:
    report = lint(
        tmp_path,
        subject="Fasteners for your next order",
        text="Hello,\n\n" + GOOD_TEXT,
        html="<p>Hello,</p><p>" + GOOD_TEXT + "</p>",
    )
    assert found(report, LintRule.NO_PERSONALISATION, Severity.WARNING)
    assert report.ok


def test_personalisation_in_an_included_template_counts(tmp_path: Path) -> None:
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "opening.jinja").write_text("{{ greeting }}", encoding="utf-8")
    report = lint(
        tmp_path,
        subject="Fasteners for your next order",
        text='{% include "seq/opening.jinja" %}\n\n' + GOOD_TEXT,
        html='<p>{% include "seq/opening.jinja" %}</p><p>' + GOOD_TEXT + "</p>",
    )
    assert found(report, LintRule.NO_PERSONALISATION) == []
    assert report.findings == ()


# --- unsubscribe link and postal address -------------------------------------------------------


@pytest.mark.parametrize(
    "trailer",
    [
        "<!-- tracking pixel goes here",
        "<style>p { margin: 0 }",
        '<div style="display: none">',
    ],
    ids=["unterminated-comment", "unclosed-style", "unclosed-hidden-div"],
)
def test_html_that_swallows_the_footer_is_an_error(tmp_path: Path, trailer: str) -> None:
    report = lint(tmp_path, html="<p>{{ greeting }}</p><p>" + GOOD_TEXT + "</p>" + trailer)
    messages = found(report, LintRule.COMPLIANCE_FOOTER, Severity.ERROR)
    assert any("no unsubscribe link" in m for m in messages)
    assert any("no postal address" in m for m in messages)


def test_closed_comments_and_a_hidden_preheader_leave_the_footer_visible(tmp_path: Path) -> None:
    html = (
        '<div style="display:none">Specifications inside</div><!-- preheader -->'
        "<p>{{ greeting }}</p><p>" + GOOD_TEXT + "</p><style>p { margin: 0 }</style>"
    )
    assert found(lint(tmp_path, html=html), LintRule.COMPLIANCE_FOOTER) == []


class FooterlessRenderer(Renderer):
    """A renderer that forgets the footer: what the text-part check exists for."""

    def render(
        self, name: str, recipient: Recipient, sender: SenderIdentity, *, unsubscribe_url: str
    ) -> RenderedEmail:
        return RenderedEmail(subject="Fasteners", text=GOOD_TEXT, html=f"<p>{GOOD_TEXT}</p>")


def test_a_text_part_without_unsubscribe_link_or_address_is_an_error(tmp_path: Path) -> None:
    name = write(tmp_path)
    report = lint_template(name, renderer=FooterlessRenderer(tmp_path), templates_dir=tmp_path)
    messages = found(report, LintRule.COMPLIANCE_FOOTER, Severity.ERROR)
    assert "the text part has no unsubscribe link" in " ".join(messages)
    assert "the text part has no postal address" in " ".join(messages)


# --- links and images --------------------------------------------------------------------------


def links(n: int) -> str:
    return " ".join(f'<a href="https://example.com/p{i}">page {i}</a>' for i in range(n))


def test_more_than_five_links_is_an_error(tmp_path: Path) -> None:
    html = f"<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT} {GOOD_TEXT} {GOOD_TEXT} {links(6)}</p>"
    assert found(lint(tmp_path, html=html), LintRule.LINKS_IMAGES, Severity.ERROR) == [
        "6 links (more than 5)"
    ]


def test_four_links_is_a_warning(tmp_path: Path) -> None:
    html = f"<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT} {GOOD_TEXT} {GOOD_TEXT} {links(4)}</p>"
    report = lint(tmp_path, html=html)
    assert found(report, LintRule.LINKS_IMAGES, Severity.WARNING) == ["4 links (more than 3)"]
    assert report.ok


def test_a_link_in_almost_no_text_is_an_error(tmp_path: Path) -> None:
    html = '<p>{{ greeting }} See <a href="https://example.com/c">our catalogue</a>.</p>'
    assert found(lint(tmp_path, html=html), LintRule.LINKS_IMAGES, Severity.ERROR)


def test_a_link_in_a_short_text_is_a_warning(tmp_path: Path) -> None:
    html = (
        "<p>{{ greeting }} We make fasteners to order for importers. Would specifications and "
        'a sample quotation help? <a href="https://example.com/c">Catalogue</a></p>'
    )
    report = lint(tmp_path, html=html)
    assert found(report, LintRule.LINKS_IMAGES, Severity.WARNING)
    assert found(report, LintRule.LINKS_IMAGES, Severity.ERROR) == []


def test_the_footer_unsubscribe_link_is_not_counted(tmp_path: Path) -> None:
    html = f'<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT} <a href="https://example.com/c">Specs</a></p>'
    assert found(lint(tmp_path, html=html), LintRule.LINKS_IMAGES) == []


def test_an_image_with_under_50_words_is_an_error(tmp_path: Path) -> None:
    html = f'<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT}</p><img src="https://example.com/p.jpg">'
    assert found(lint(tmp_path, html=html), LintRule.LINKS_IMAGES, Severity.ERROR)


def test_an_image_with_enough_text_passes(tmp_path: Path) -> None:
    html = f'<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT} {GOOD_TEXT}</p><img src="https://example.com/p.jpg">'
    assert found(lint(tmp_path, html=html), LintRule.LINKS_IMAGES) == []


# --- embedded data and size --------------------------------------------------------------------


def test_more_than_100_kb_of_embedded_data_is_an_error(tmp_path: Path) -> None:
    blob = base64.b64encode(bytes(110 * 1024)).decode()
    html = f'<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT}</p><img src="data:image/png;base64,{blob}">'
    report = lint(tmp_path, html=html)
    assert found(report, LintRule.HEAVY_HTML, Severity.ERROR)


def test_a_large_base64_blob_without_data_uri_is_an_error(tmp_path: Path) -> None:
    blob = base64.b64encode(bytes(110 * 1024)).decode()
    html = f"<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT}</p><!-- {blob} -->"
    assert found(lint(tmp_path, html=html), LintRule.HEAVY_HTML, Severity.ERROR)


def test_a_small_data_uri_is_a_warning(tmp_path: Path) -> None:
    blob = base64.b64encode(bytes(300)).decode()
    html = (
        f"<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT} {GOOD_TEXT}</p>"
        f'<img src="data:image/png;base64,{blob}">'
    )
    report = lint(tmp_path, html=html)
    assert found(report, LintRule.HEAVY_HTML, Severity.WARNING) == [
        "1 data: URI(s): Gmail and Outlook do not show them"
    ]
    assert report.ok


def test_html_over_102_kb_is_a_warning_about_gmail_clipping(tmp_path: Path) -> None:
    filler = f'<table><tr><td style="padding:0 0 0 0;margin:0">{GOOD_TEXT}</td></tr></table>' * 400
    report = lint(tmp_path, html="<p>{{ greeting }}</p>" + filler)
    [message] = found(report, LintRule.HEAVY_HTML, Severity.WARNING)
    assert "Gmail clips" in message


# --- link shorteners ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://bit.ly/3xYz", "http://t.cn/A6abc", "dwz.cn/xyz"])
def test_a_link_shortener_is_an_error(tmp_path: Path, url: str) -> None:
    html = f'<p>{{{{ greeting }}}}</p><p>{GOOD_TEXT} <a href="{url}">Catalogue</a></p>'
    assert found(lint(tmp_path, html=html), LintRule.LINK_SHORTENER, Severity.ERROR)


def test_own_domains_that_resemble_shorteners_pass(tmp_path: Path) -> None:
    text = (
        "{{ greeting }} "
        + GOOD_TEXT
        + " https://www.t.com/catalogue https://bitly.example.com/x https://at.co/specs"
    )
    assert found(lint(tmp_path, text=text), LintRule.LINK_SHORTENER) == []


# --- subject -----------------------------------------------------------------------------------


def test_a_subject_over_78_characters_is_a_warning(tmp_path: Path) -> None:
    subject = "Fasteners " + "x" * 70
    report = lint(tmp_path, subject=subject)
    assert found(report, LintRule.SUBJECT, Severity.WARNING)
    assert report.ok


def test_a_subject_of_78_characters_passes(tmp_path: Path) -> None:
    assert found(lint(tmp_path, subject="Fasteners " + "x" * 68), LintRule.SUBJECT) == []


def test_an_empty_subject_is_an_error(tmp_path: Path) -> None:
    report = lint(tmp_path, subject="{{ contact.first_name or '' }}")
    assert found(report, LintRule.SUBJECT, Severity.ERROR) == ["the subject is empty"]
    assert found(report, LintRule.RENDER) == []


def test_an_undefined_variable_in_the_subject_is_a_render_error(tmp_path: Path) -> None:
    report = lint(tmp_path, subject="{{ contact.nickname }}")
    assert found(report, LintRule.RENDER, Severity.ERROR)
    assert found(report, LintRule.SUBJECT) == []


# --- templates that do not render --------------------------------------------------------------


def test_a_template_failing_for_a_contact_without_first_name_is_an_error(tmp_path: Path) -> None:
    report = lint(tmp_path, text="Hi {{ contact.first_name.upper() }},\n\n" + GOOD_TEXT)
    [message] = found(report, LintRule.RENDER, Severity.ERROR)
    assert "without a first name" in message


def test_a_template_with_a_syntax_error_is_an_error(tmp_path: Path) -> None:
    report = lint(tmp_path, text="{{ greeting }} {% if %}")
    assert found(report, LintRule.RENDER, Severity.ERROR)


def test_a_missing_template_is_an_error(tmp_path: Path) -> None:
    report = lint_template("seq/nope", templates_dir=tmp_path)
    assert found(report, LintRule.RENDER, Severity.ERROR) == ["no template seq/nope.jinja"]


def test_a_sequence_report_collects_every_step(tmp_path: Path) -> None:
    write(tmp_path, "seq/one")
    write(tmp_path, "seq/two", subject="URGENT: FREE CASH WINNER")
    report = lint_sequence("seq", ["one", "two"], tmp_path)
    assert report.templates == ("seq/one", "seq/two")
    assert {f.template for f in report.errors} == {"seq/two"}
    assert not report.ok


def test_a_cohort_start_lints_every_template_of_the_sequence(tmp_path):
    from activities.deliverability.content_lint import lint_before_start

    folder = tmp_path / "promo"
    folder.mkdir()
    good = "{% block subject %}Hello {{ contact.company }}{% endblock %}{% block text %}{{ greeting }} A note about our parts.{% endblock %}{% block html %}<p>{{ greeting }} A note about our parts.</p>{% endblock %}"
    (folder / "intro.jinja").write_text(good)
    assert lint_before_start("promo", tmp_path).ok
    (folder / "offer.jinja").write_text(good.replace("Hello", "FREE CASH WINNER!!!"))
    report = lint_before_start("promo", tmp_path)
    assert not report.ok
    assert {f.template for f in report.errors} == {"promo/offer"}
