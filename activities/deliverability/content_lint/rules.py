"""Content lint: checks a step template (its source and two sample renderings, footer included)
for what gets cold export-trade email filtered, clipped or complained about, before a cohort starts.

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
from dataclasses import dataclass, field
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path

import jinja2
from jinja2 import meta, nodes

from activities.enrollment.rendering import (
    Recipient,
    RenderedEmail,
    Renderer,
    SenderIdentity,
    greeting,
    html_footer,
)
from models.errors import TemplateError


class LintRule(StrEnum):
    SPAM_PHRASE = "spam-phrase"
    ALL_CAPS = "all-caps"
    EXCLAMATION = "exclamation"
    IMPERSONAL_GREETING = "impersonal-greeting"
    NO_PERSONALISATION = "no-personalisation"
    COMPLIANCE_FOOTER = "compliance-footer"
    LINKS_IMAGES = "links-images"
    HEAVY_HTML = "heavy-html"
    LINK_SHORTENER = "link-shortener"
    SUBJECT = "subject"
    RENDER = "render"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem in one template: what is wrong (`message`) and what to do (`fix`)."""

    rule: LintRule
    severity: Severity
    template: str
    message: str
    fix: str


@dataclass(frozen=True)
class LintReport:
    """Findings over one or more templates; `ok` when none is an error."""

    templates: tuple[str, ...]
    findings: tuple[Finding, ...] = field(default=())

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


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

# --- vocabularies ------------------------------------------------------------------------------

#: Trigger phrases, English (matched as whole words, case-insensitively; a space also matches a
#: hyphen or a line break) and Chinese (matched anywhere).
SPAM_PHRASES: tuple[str, ...] = (
    # English
    "100% free",
    "free",
    "free gift",
    "act now",
    "limited time",
    "click here",
    "buy now",
    "order now",
    "call now",
    "apply now",
    "risk free",
    "guarantee",
    "guaranteed",
    "winner",
    "congratulations",
    "cash",
    "no obligation",
    "no cost",
    "urgent",
    "best price",
    "lowest price",
    "cheapest",
    "hot sale",
    "big sale",
    "special promotion",
    "once in a lifetime",
    "don't miss",
    "what are you waiting for",
    "earn money",
    "make money",
    "extra income",
    "double your",
    "100% satisfied",
    "prize",
    "incredible deal",
    # Chinese
    "最低价",
    "免费",
    "点击这里",
    "限时",
    "赚钱",
    "保证",
    "优惠",
    "震撼",
    "紧急",
    "立即购买",
    "特价",
    "秒杀",
    "清仓",
    "中奖",
)

#: Ordinary export-trade language that contains a trigger word: removed before matching.
TRADE_TERMS: tuple[str, ...] = (
    "free on board",
    "free carrier",
    "free alongside ship",
    "duty free",
    "tax free",
    "cash against documents",
    "cash in advance",
    "bank guarantee",
    "letter of guarantee",
    "performance guarantee",
    "质量保证",
)

#: Capitalised words of six letters or more that are names, not shouting.
TRADE_ACRONYMS = frozenset(
    {
        "ISO",
        "OEM",
        "ODM",
        "FOB",
        "CIF",
        "CFR",
        "EXW",
        "DDP",
        "DAP",
        "FCA",
        "MOQ",
        "RFQ",
        "INCOTERMS",
        "REACH",
        "ROHS",
        "BSCI",
        "SEDEX",
        "HACCP",
        "GOTS",
        "OEKO",
        "ASTM",
        "ANSI",
        "IATF",
    }
)

IMPERSONAL_GREETINGS: tuple[str, ...] = (
    r"dear\s+sirs?\s*(?:/|or|and|&)\s*madams?",
    r"dear\s+madams?\s*(?:/|or|and|&)\s*sirs?",
    r"dear\s+sirs?\b",
    r"dear\s+madam\b",
    r"to\s+whom\s+it\s+may\s+concern",
    r"dear\s+(?:valued\s+)?(?:customer|friend|client|buyer)s?\b",
    r"dear\s+(?:purchasing|purchase|procurement|sales)\s+manager\b",
    r"尊敬的(?:先生|女士)\s*[/／、或和]?\s*(?:先生|女士)?",
    r"尊敬的客户",
    r"亲爱的朋友",
)

#: URL shorteners: they hide the destination and share their domain's reputation with spammers.
LINK_SHORTENERS: tuple[str, ...] = (
    "bit.ly",
    "tinyurl.com",
    "goo.gl",
    "t.co",
    "ow.ly",
    "is.gd",
    "v.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "rb.gy",
    "tiny.cc",
    "shorturl.at",
    "lnkd.in",
    "t.cn",
    "dwz.cn",
    "url.cn",
    "suo.im",
)

# --- samples the templates are rendered with ---------------------------------------------------

SAMPLE_CONTACT = Recipient(
    first_name="Anna",
    last_name="Schmidt",
    company="Hansa Import GmbH",
    country="DE",
    language=None,
    custom={},
)
#: Nothing known but the address: exercises every fallback.
SAMPLE_CONTACT_BARE = Recipient(
    first_name=None, last_name=None, company=None, country=None, language=None, custom={}
)
SAMPLE_SENDER = SenderIdentity(
    from_name="Li Wei, Ningbo Precision Parts",
    from_email="li.wei@ningbo-precision.example",
    postal_address="88 Harbour Road, Beilun District, Ningbo 315800, China",
)
SAMPLE_UNSUBSCRIBE_URL = "https://nurture.example/u/lint-sample-token"

_SAMPLES: tuple[tuple[str, Recipient], ...] = (
    ("a contact with a first name", SAMPLE_CONTACT),
    ("a contact without a first name", SAMPLE_CONTACT_BARE),
)

# --- compiled patterns -------------------------------------------------------------------------

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_URL = re.compile(r"(?:https?://|www\.)[^\s\"'<>]+", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w=.-]+)*;base64,([A-Za-z0-9+/=\s]+)", re.I)
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/]{1024,}={0,2}")
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|"
    r"(?:font-size|max-height|opacity)\s*:\s*0(?![.\d])",
    re.IGNORECASE,
)
_HIDING_ELEMENTS = frozenset({"head", "title", "style", "script", "template", "noscript"})
_VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


def _phrase_pattern(phrase: str) -> str:
    if _CJK_CHAR.search(phrase):
        return re.escape(phrase)
    words = [re.escape(w).replace("'", "['’]") for w in phrase.split()]
    return r"(?<![\w%])" + r"[\s-]+".join(words) + r"(?!\w)"


def _alternation(phrases: Iterable[str]) -> re.Pattern[str]:
    # Longest first, so "100% free" is taken whole rather than as "free".
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile("|".join(_phrase_pattern(p) for p in ordered), re.IGNORECASE)


_SPAM = _alternation(SPAM_PHRASES)
_TRADE = _alternation(TRADE_TERMS)
_GREETING = re.compile("|".join(IMPERSONAL_GREETINGS), re.IGNORECASE)
_SHORTENER = re.compile(
    r"(?<![\w.-])(?:[\w-]+\.)*("
    + "|".join(re.escape(d) for d in sorted(LINK_SHORTENERS, key=len, reverse=True))
    + r")(?![\w-])(?!\.\w)",
    re.IGNORECASE,
)


# --- HTML reading ------------------------------------------------------------------------------


class _HtmlScan(HTMLParser):
    """What a mail client would show: visible text, links and images (hidden ones counted too)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.visible: list[str] = []
        self.visible_links: list[str] = []
        self.links = 0
        self.images = 0
        self._stack: list[tuple[str, bool]] = []

    @property
    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links += 1
            if not self._hidden:
                self.visible_links.append(values["href"] or "")
        if tag == "img":
            self.images += 1
        if tag in _VOID_ELEMENTS:
            return
        hidden = (
            tag in _HIDING_ELEMENTS
            or "hidden" in values
            or bool(_HIDDEN_STYLE.search(values.get("style") or ""))
        )
        self._stack.append((tag, hidden))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_ELEMENTS and self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        # Lenient, like a browser: close up to the nearest open element of that name.
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.visible.append(data)


@dataclass(frozen=True)
class _Html:
    text: str
    visible_links: tuple[str, ...]
    links: int
    images: int


def _read_html(html: str) -> _Html:
    without_comments = _COMMENT.sub(" ", html)
    # An unterminated comment hides everything after it, the footer included.
    without_comments = without_comments.split("<!--", 1)[0]
    scan = _HtmlScan()
    scan.feed(without_comments)
    scan.close()
    return _Html(
        text=" ".join(" ".join(scan.visible).split()),
        visible_links=tuple(scan.visible_links),
        links=scan.links,
        images=scan.images,
    )


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


# --- template source ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    #: Literal text of the source as written (HTML tags included), in every branch.
    literals: tuple[str, ...]
    variables: frozenset[str]

    @property
    def prose(self) -> list[str]:
        return [_TAG.sub(" ", literal) for literal in self.literals]


def _read_source(env: jinja2.Environment, filename: str) -> _Source:
    """Literal text and context variables of a template and of the templates it pulls in."""
    literals: list[str] = []
    variables: set[str] = set()
    loader = env.loader
    assert loader is not None, "the source environment always has a loader"
    pending, seen = [filename], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        raw, _, _ = loader.get_source(env, current)
        ast = env.parse(raw)
        variables |= meta.find_undeclared_variables(ast)
        literals += [node.data for node in ast.find_all(nodes.TemplateData)]
        literals += [c.value for c in ast.find_all(nodes.Const) if isinstance(c.value, str)]
        pending.extend(t for t in meta.find_referenced_templates(ast) if t)
    return _Source(tuple(literals), frozenset(variables))


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


def _source_env(templates_dir: Path) -> jinja2.Environment:
    """For reading sources; strict like the renderer's, so a subject is empty only if it is."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)), undefined=jinja2.StrictUndefined
    )


def lint_template(
    name: str, *, renderer: Renderer | None = None, templates_dir: Path
) -> LintReport:
    """Lint one template, `name` as the renderer knows it (`trade_intro/intro`)."""
    renderer = renderer or Renderer(templates_dir)
    return LintReport(
        templates=(name,), findings=tuple(_lint(name, renderer, _source_env(templates_dir)))
    )


def lint_sequence(
    sequence: str, steps: list[str], templates_dir: Path, *, renderer: Renderer | None = None
) -> LintReport:
    """Lint the step templates of a sequence (`steps` are template names inside `sequence/`)."""
    renderer = renderer or Renderer(templates_dir)
    env = _source_env(templates_dir)
    names = tuple(f"{sequence}/{step}" for step in steps)
    findings = [f for name in names for f in _lint(name, renderer, env)]
    return LintReport(templates=names, findings=tuple(findings))


__all__ = [
    "Finding",
    "LintReport",
    "LintRule",
    "Severity",
    "lint_before_start",
    "lint_sequence",
    "lint_template",
    "sequence_templates",
]


def sequence_templates(sequence: str, templates_dir: Path) -> list[str]:
    """Every template of a sequence: the `.jinja` files in `templates/<sequence>/`."""
    return sorted(p.name.removesuffix(".jinja") for p in (templates_dir / sequence).glob("*.jinja"))


def lint_before_start(sequence: str, templates_dir: Path) -> LintReport:
    """What a cohort start runs first: every template of the sequence; errors block the start."""
    return lint_sequence(sequence, sequence_templates(sequence, templates_dir), templates_dir)
