"""The lint rules: one check per rule over a template's source and its sample renderings, and
`_lint`, which renders the samples and runs every rule on one template.

Rules, and why each exists (severity in brackets; counts and sizes are module constants):

- ``spam-phrase`` [1–2 distinct phrases: warning; 3 or more: error] — sales clichés that
  filters score ("free", "act now", "best price", "免费", "优惠", "限时" …). English phrases match
  whole words, so "freight" and "freedom" are not "free"; trade terms that merely contain a
  trigger word ("free on board", "cash against documents", "bank guarantee", "质量保证") are
  not counted. Phrases are counted once each, as SpamAssassin scores a rule once.
- ``all-caps`` [error when ≥ 60 % of a subject's cased letters are capitals (subjects with at
  least 10); warning for a shouted word of 6+ letters that is not a trade acronym] — capitals
  read as shouting and are a classic filter feature.
- ``exclamation`` [error: ``!!`` or more than one ``!`` in the subject, ``!!!`` in the body;
  warning: ``!!`` in the body] — repeated exclamation marks are scored as spam.
- ``impersonal-greeting`` [error] — "Dear Sir/Madam", "To whom it may concern", "尊敬的先生/女士":
  the mark of a bought list; it tells the buyer nobody looked at their company.
- ``no-personalisation`` [warning] — the source uses neither ``contact.*`` nor ``greeting``:
  identical mail to every address is what bulk filters look for.
- ``compliance-footer`` [error] — the rendered text and the visible HTML must contain the
  unsubscribe link and the sender's postal address (CAN-SPAM, GDPR). nurture appends them; a
  template can still hide them (an unterminated ``<!--``, ``<style>`` or ``display:none``).
- ``links-images`` [error: more than 5 links, fewer than 10 words per link, or fewer than 50
  words per image; warning: more than 3 links or fewer than 25 words per link] — link- and
  image-heavy mail with little text is how spam looks; a first-contact email needs one link.
  Counted in the template's own HTML (the footer's unsubscribe link is not counted); a CJK
  character counts as half a word.
- ``heavy-html`` [error: embedded ``data:`` URIs or base64 blobs over 100 KB in total;
  warning: any ``data:`` URI, or HTML over 102 KB] — Gmail clips messages over 102 KB (hiding
  the footer) and does not show ``data:`` images; embedded payloads look like attachments.
- ``link-shortener`` [error] — bit.ly, t.cn, dwz.cn … hide the destination and are shared with
  spammers, so their domains sit on blocklists.
- ``subject`` [error: empty; warning: over 78 characters] — an empty subject looks like spam;
  a long one is cut off in every inbox.
- ``render`` [error] — the template is missing, does not parse, or fails for a sample contact.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import jinja2

from activities.deliverability.content_lint.reading import (
    _Html,
    _read_html,
    _read_source,
    _Source,
)
from activities.deliverability.content_lint.report import Finding, LintRule, Severity
from activities.deliverability.content_lint.samples import (
    _SAMPLES,
    SAMPLE_SENDER,
    SAMPLE_UNSUBSCRIBE_URL,
)
from activities.deliverability.content_lint.vocabulary import (
    _CJK_CHAR,
    _GREETING,
    _SHORTENER,
    _SPAM,
    _TRADE,
    TRADE_ACRONYMS,
)
from activities.enrollment.rendering import (
    RenderedEmail,
    Renderer,
    SenderIdentity,
    greeting,
    html_footer,
)
from models.errors import TemplateError

# --- thresholds --------------------------------------------------------------------------------

SPAM_PHRASES_ERROR_AT = 3
CAPS_RATIO_ERROR = 0.6
CAPS_MIN_LETTERS = 10
CAPS_WORD_MIN_LETTERS = 6
LINKS_WARNING_ABOVE = 3
LINKS_ERROR_ABOVE = 5
WORDS_PER_LINK_WARNING = 25
WORDS_PER_LINK_ERROR = 10
WORDS_PER_IMAGE_ERROR = 50
EMBEDDED_DATA_ERROR_BYTES = 100 * 1024
#: Gmail clips a message whose HTML is larger than this and hides the rest behind a link.
HTML_CLIP_BYTES = 102 * 1024
SUBJECT_MAX_CHARS = 78

# --- patterns ----------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_URL = re.compile(r"(?:https?://|www\.)[^\s\"'<>]+", re.IGNORECASE)
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w=.-]+)*;base64,([A-Za-z0-9+/=\s]+)", re.I)
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/]{1024,}={0,2}")


# --- text helpers ------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    """Full-width forms folded (ＦＲＥＥ, ！) and zero-width tricks removed."""
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))


def _word_count(text: str) -> int:
    cjk = len(_CJK_CHAR.findall(text))
    return len(_WORD.findall(_CJK_CHAR.sub(" ", text))) + math.ceil(cjk / 2)


def _spam_phrases(texts: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    for text in texts:
        cleaned = _TRADE.sub(" ", _URL.sub(" ", _normalise(text)))
        for match in _SPAM.finditer(cleaned):
            found.setdefault(" ".join(match.group(0).lower().split()), None)
    return list(found)


def _cased_letters(text: str) -> list[str]:
    return [c for c in text if c.isupper() or c.islower()]


# --- the rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rendering:
    sample: str
    email: RenderedEmail
    #: The whole HTML as sent, and the template's own part of it (without nurture's footer).
    html: _Html
    own: _Html


class _Findings:
    def __init__(self, template: str) -> None:
        self.template = template
        self._items: dict[tuple[LintRule, Severity, str], Finding] = {}

    def add(self, rule: LintRule, severity: Severity, message: str, fix: str) -> None:
        key = (rule, severity, message)
        self._items.setdefault(key, Finding(rule, severity, self.template, message, fix))

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._items.values())


def _check_spam(out: _Findings, source: _Source, renderings: list[_Rendering]) -> None:
    texts = source.prose
    for r in renderings:
        texts += [r.email.subject, r.email.text, r.html.text]
    phrases = _spam_phrases(texts)
    if not phrases:
        return
    severity = Severity.ERROR if len(phrases) >= SPAM_PHRASES_ERROR_AT else Severity.WARNING
    out.add(
        LintRule.SPAM_PHRASE,
        severity,
        f"{len(phrases)} spam-trigger phrase(s): " + ", ".join(f"'{p}'" for p in phrases),
        "Say it plainly and specifically: what the buyer gets, in numbers, without sales clichés.",
    )


def _check_subject(out: _Findings, r: _Rendering) -> None:
    subject = _normalise(r.email.subject)
    if len(subject) > SUBJECT_MAX_CHARS:
        out.add(
            LintRule.SUBJECT,
            Severity.WARNING,
            f"subject is {len(subject)} characters for {r.sample} (over {SUBJECT_MAX_CHARS})",
            "Shorten the subject: inboxes cut it off, phones after about 40 characters.",
        )
    letters = _cased_letters(subject)
    upper = sum(1 for c in letters if c.isupper())
    if len(letters) >= CAPS_MIN_LETTERS and upper / len(letters) >= CAPS_RATIO_ERROR:
        out.add(
            LintRule.ALL_CAPS,
            Severity.ERROR,
            f"subject is {upper / len(letters):.0%} capitals: {r.email.subject!r}",
            "Write the subject in sentence case.",
        )
    for word in re.findall(r"[^\W\d_]+", subject):
        if (
            len(word) >= CAPS_WORD_MIN_LETTERS
            and word.isupper()
            and word not in TRADE_ACRONYMS
            and len(_cased_letters(word)) == len(word)
        ):
            out.add(
                LintRule.ALL_CAPS,
                Severity.WARNING,
                f"shouted word in the subject: {word!r}",
                "Write it in lower case; capitals read as shouting.",
            )
    if subject.count("!") > 1 or "!!" in subject:
        out.add(
            LintRule.EXCLAMATION,
            Severity.ERROR,
            f"subject has {subject.count('!')} exclamation marks: {r.email.subject!r}",
            "Use at most one '!' in a subject, preferably none.",
        )


def _check_body_exclamations(out: _Findings, r: _Rendering) -> None:
    body = _normalise(r.email.text + "\n" + r.html.text)
    if "!!!" in body:
        out.add(
            LintRule.EXCLAMATION,
            Severity.ERROR,
            "body has '!!!'",
            "One '!' is enough; a business email rarely needs any.",
        )
    elif "!!" in body:
        out.add(
            LintRule.EXCLAMATION,
            Severity.WARNING,
            "body has '!!'",
            "One '!' is enough; a business email rarely needs any.",
        )


def _check_greeting(out: _Findings, source: _Source, renderings: list[_Rendering]) -> None:
    texts = source.prose
    for r in renderings:
        texts += [r.email.subject, r.email.text, r.html.text]
    for text in texts:
        match = _GREETING.search(_normalise(text))
        if match:
            out.add(
                LintRule.IMPERSONAL_GREETING,
                Severity.ERROR,
                f"impersonal greeting: {' '.join(match.group(0).split())!r}",
                "Start with {{ greeting }}: 'Hi Anna,', or 'Hi <company> team,' without a name.",
            )


def _check_personalisation(out: _Findings, source: _Source) -> None:
    if not source.variables & {"contact", "greeting"}:
        out.add(
            LintRule.NO_PERSONALISATION,
            Severity.WARNING,
            "the template uses neither {{ greeting }} nor any contact.* field",
            "Open with {{ greeting }} and mention {{ contact.company }} where it fits.",
        )


def _check_footer(out: _Findings, r: _Rendering, sender: SenderIdentity, url: str) -> None:
    address = " ".join(sender.postal_address.split())
    problems = []
    if url not in r.email.text:
        problems.append("the text part has no unsubscribe link")
    if address not in " ".join(r.email.text.split()):
        problems.append("the text part has no postal address")
    hint = " (an unterminated <!--, an unclosed <style> or a hidden element swallows the footer?)"
    if url not in r.html.visible_links:
        problems.append("the HTML part shows no unsubscribe link" + hint)
    if address not in r.html.text:
        problems.append("the HTML part shows no postal address" + hint)
    for problem in problems:
        out.add(
            LintRule.COMPLIANCE_FOOTER,
            Severity.ERROR,
            problem,
            "Close every comment and element the html block opens; never hide the footer.",
        )


def _check_links_images(out: _Findings, r: _Rendering) -> None:
    own = r.own
    words = _word_count(own.text)
    fix = "One or two links and a few plain paragraphs: link less, write more."
    if own.links > LINKS_ERROR_ABOVE:
        out.add(
            LintRule.LINKS_IMAGES,
            Severity.ERROR,
            f"{own.links} links (more than {LINKS_ERROR_ABOVE})",
            fix,
        )
    elif own.links > LINKS_WARNING_ABOVE:
        out.add(
            LintRule.LINKS_IMAGES,
            Severity.WARNING,
            f"{own.links} links (more than {LINKS_WARNING_ABOVE})",
            fix,
        )
    if own.links and words < WORDS_PER_LINK_ERROR * own.links:
        out.add(
            LintRule.LINKS_IMAGES,
            Severity.ERROR,
            f"{words} words for {own.links} link(s): under {WORDS_PER_LINK_ERROR} words per link",
            fix,
        )
    elif own.links and words < WORDS_PER_LINK_WARNING * own.links:
        out.add(
            LintRule.LINKS_IMAGES,
            Severity.WARNING,
            f"{words} words for {own.links} link(s): under {WORDS_PER_LINK_WARNING} words per link",
            fix,
        )
    if own.images and words < WORDS_PER_IMAGE_ERROR * own.images:
        out.add(
            LintRule.LINKS_IMAGES,
            Severity.ERROR,
            f"{words} words for {own.images} image(s): "
            f"under {WORDS_PER_IMAGE_ERROR} words per image",
            "Describe the product in words; link to a catalogue page instead of embedding photos.",
        )


def _check_weight(out: _Findings, r: _Rendering) -> None:
    html = r.email.html
    uris = [m.group(1) for m in _DATA_URI.finditer(html)]
    embedded = sum(len("".join(u.split())) for u in uris)
    embedded += sum(len(m.group(0)) for m in _BASE64_BLOB.finditer(_DATA_URI.sub("", html)))
    fix = "Host images and documents on your site and link to them."
    if embedded > EMBEDDED_DATA_ERROR_BYTES:
        out.add(
            LintRule.HEAVY_HTML,
            Severity.ERROR,
            f"{embedded // 1024} KB of embedded data (data: URIs or base64)",
            fix,
        )
    elif uris:
        out.add(
            LintRule.HEAVY_HTML,
            Severity.WARNING,
            f"{len(uris)} data: URI(s): Gmail and Outlook do not show them",
            fix,
        )
    size = len(html.encode())
    if size > HTML_CLIP_BYTES:
        out.add(
            LintRule.HEAVY_HTML,
            Severity.WARNING,
            f"HTML is {size // 1024} KB: Gmail clips messages over {HTML_CLIP_BYTES // 1024} KB",
            "Trim the HTML (inline styles, tables, embedded images); the footer is at the end.",
        )


def _check_shorteners(out: _Findings, source: _Source, renderings: list[_Rendering]) -> None:
    texts = [*source.literals] + [t for r in renderings for t in (r.email.text, r.email.html)]
    for text in texts:
        for match in _SHORTENER.finditer(text):
            out.add(
                LintRule.LINK_SHORTENER,
                Severity.ERROR,
                f"link shortener {match.group(0).lower()!r}",
                "Link to your own domain: shortener domains are on blocklists.",
            )


def _check_empty_subject(out: _Findings, env: jinja2.Environment, filename: str) -> bool:
    """After a failed render: say so if the cause is an empty subject."""
    try:
        template = env.get_template(filename)
        block = template.blocks.get("subject")
        if block is None:
            return False
        subjects = []
        for _, contact in _SAMPLES:
            context = template.new_context(
                {
                    "contact": contact,
                    "sender": SAMPLE_SENDER,
                    "greeting": greeting(contact),
                    "unsubscribe_url": SAMPLE_UNSUBSCRIBE_URL,
                }
            )
            subjects.append("".join(block(context)).strip())
    except jinja2.TemplateError:
        return False
    if all(subjects):
        return False
    out.add(
        LintRule.SUBJECT,
        Severity.ERROR,
        "the subject is empty",
        "Write a subject that says what the email offers, in a few words.",
    )
    return True


def _render(renderer: Renderer, name: str) -> tuple[list[_Rendering], list[str]]:
    renderings, failures = [], []
    for sample, contact in _SAMPLES:
        try:
            email = renderer.render(
                name, contact, SAMPLE_SENDER, unsubscribe_url=SAMPLE_UNSUBSCRIBE_URL
            )
        except (TemplateError, jinja2.TemplateError, TypeError, ValueError, LookupError) as exc:
            failures.append(f"does not render for {sample}: {exc}")
            continue
        own_html = email.html.removesuffix(html_footer(SAMPLE_SENDER, SAMPLE_UNSUBSCRIBE_URL))
        renderings.append(_Rendering(sample, email, _read_html(email.html), _read_html(own_html)))
    return renderings, failures


def _lint(name: str, renderer: Renderer, env: jinja2.Environment) -> list[Finding]:
    out = _Findings(name)
    filename = f"{name}.jinja"
    try:
        source = _read_source(env, filename)
    except jinja2.TemplateNotFound as exc:
        out.add(LintRule.RENDER, Severity.ERROR, f"no template {exc.name}", "Check the name.")
        return list(out)
    except jinja2.TemplateSyntaxError as exc:
        out.add(
            LintRule.RENDER,
            Severity.ERROR,
            f"line {exc.lineno}: {exc.message}",
            "Fix the Jinja syntax.",
        )
        return list(out)

    renderings, failures = _render(renderer, name)
    if failures and not _check_empty_subject(out, env, filename):
        for failure in failures:
            out.add(
                LintRule.RENDER,
                Severity.ERROR,
                failure,
                "Give every block a fallback: {{ contact.first_name or '' }}, {% if %}.",
            )

    _check_personalisation(out, source)
    _check_spam(out, source, renderings)
    _check_greeting(out, source, renderings)
    _check_shorteners(out, source, renderings)
    for r in renderings:
        _check_subject(out, r)
        _check_body_exclamations(out, r)
        _check_footer(out, r, SAMPLE_SENDER, SAMPLE_UNSUBSCRIBE_URL)
        _check_links_images(out, r)
        _check_weight(out, r)
    return list(out)


__all__ = [
    "CAPS_MIN_LETTERS",
    "CAPS_RATIO_ERROR",
    "CAPS_WORD_MIN_LETTERS",
    "EMBEDDED_DATA_ERROR_BYTES",
    "HTML_CLIP_BYTES",
    "LINKS_ERROR_ABOVE",
    "LINKS_WARNING_ABOVE",
    "SPAM_PHRASES_ERROR_AT",
    "SUBJECT_MAX_CHARS",
    "WORDS_PER_IMAGE_ERROR",
    "WORDS_PER_LINK_ERROR",
    "WORDS_PER_LINK_WARNING",
]
