"""Parses a SendGrid Inbound Parse post, parsed or raw mode, into an `InboundMessage`: sender,
recipients and reply tokens, thread ids, the text and its new part (`reply_body`: quoted history,
signature and disclaimer removed), the auto-reply
verdict. Lenient: any post gives a message, except one with neither sender nor recipient."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, Parser
from html import unescape
from html.parser import HTMLParser
from typing import Any

from activities.events.autoreply import AUTO_REPLY_HEADERS, detect_auto_reply
from activities.replies.extraction import reply_body
from models.errors import MalformedInbound
from models.inbound import InboundMessage

__all__ = [
    "HEADER_PARSE_MAX_CHARS",
    "THREAD_HEADERS",
    "html_to_text",
    "parse_inbound",
]

#: The stdlib header parser is superlinear (a 600 kB To takes half a minute): longer values are
#: decoded from their start only, and longer address lists are read without display names.
HEADER_PARSE_MAX_CHARS = 16_000

#: Headers that tie a reply to the mail it answers.
THREAD_HEADERS: tuple[str, ...] = ("Message-ID", "In-Reply-To", "References")

_REPLY_LOCAL_PART = re.compile(r"reply\+([a-z2-7]+)", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"'@]+@[^\s<>()\[\],;:\"'@]+")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_NEWLINE = re.compile(r"\r\n?")
_BLANK_LINES = re.compile(r"\n{3,}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_ESCAPED_BYTE = re.compile("[\ud800-\udc7f\udd00-\udfff]")
_DECLARED_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:+-]+)", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


# --- text hygiene and encodings -------------------------------------------------------------


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, charset: str | None) -> str:
    """`data` in `charset`, falling back to UTF-8 for an unknown or non-text codec."""
    if charset:
        try:
            return data.decode(charset, "replace")
        except (LookupError, ValueError):  # unknown, not a text codec, NUL in the name, idna
            pass
    return data.decode("utf-8", "replace")


def _escaped_bytes(value: str) -> bytes:
    """The bytes behind a value decoded as UTF-8 with `surrogateescape`."""
    # a lone surrogate outside U+DC80-U+DCFF is not an escaped byte: it becomes U+FFFD
    return _NOT_ESCAPED_BYTE.sub("\ufffd", value).encode("utf-8", "surrogateescape")


def _redecode_field(value: str, charset: str | None) -> str:
    """A parsed-mode field re-decoded with the charset SendGrid named for it (`parse_inbound`)."""
    if _SURROGATE.search(value):
        return _decode(_escaped_bytes(value), charset)
    if not charset or charset.strip().lower() in _UTF8_NAMES or value.isascii():
        return value
    if max(map(ord, value)) > 0xFF:  # Latin-1 decoding never gives these: it was UTF-8
        return value
    latin1 = value.encode("latin-1")
    return value if _is_utf8(latin1) else _decode(latin1, charset)


def _raw_bytes(value: str) -> bytes:
    """The bytes of a raw-mode `email` field (see `parse_inbound`)."""
    if _SURROGATE.search(value):
        return _escaped_bytes(value)
    if value.isascii() or max(map(ord, value)) > 0xFF:
        return value.encode("utf-8")
    latin1 = value.encode("latin-1")
    if _is_utf8(latin1):
        return value.encode("utf-8")
    declared = {name.lower() for name in _DECLARED_CHARSET.findall(value)}
    return latin1 if declared - _UTF8_NAMES else value.encode("utf-8")


def _json_object(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        loaded = json.loads(value)
    except (ValueError, RecursionError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


# --- headers --------------------------------------------------------------------------------


def _unescape_8bit(value: str) -> str:
    """A header value from `BytesParser` with raw 8-bit bytes (RFC 6532 UTF-8, or worse)."""
    if not _SURROGATE.search(value):
        return value
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return _clean(value)
    return raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")


def _unfold(value: str) -> str:
    return _FOLD.sub("", _unescape_8bit(value)).replace("\r", "").replace("\n", " ").strip()


def _decode_words(value: str) -> str:
    """An unstructured header value with its RFC 2047 encoded words decoded."""
    value = _unfold(value)[:HEADER_PARSE_MAX_CHARS]
    if "=?" not in value:
        return value
    try:
        return str(policy.default.header_factory("subject", value))
    except Exception:  # the stdlib header parser raises assorted types on hostile input
        pass
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # likewise (HeaderParseError, LookupError, UnicodeError, ...)
        return value


def _addresses(value: str) -> list[tuple[str, str]]:
    """(display name, lower-case address) of every address in a header value, in order."""
    value = _unfold(value)
    if "@" not in value:
        return []
    found: list[tuple[str, str]] = []
    if len(value) <= HEADER_PARSE_MAX_CHARS:
        try:
            header = policy.default.header_factory("to", value)
            found = [(address.display_name, address.addr_spec) for address in header.addresses]
        except Exception:  # the stdlib address parser raises assorted types on hostile input
            found = []
    usable = [(name, spec.lower()) for name, spec in found if _is_address(spec)]
    if usable:
        return usable
    return [("", spec.lower()) for spec in _BARE_ADDRESS.findall(value) if _is_address(spec)]


def _is_address(text: str) -> bool:
    """Plausible enough to look up: local@domain, printable, no blanks (not a validation)."""
    local, at, domain = text.rpartition("@")
    return bool(at and local and domain) and text.isprintable() and " " not in text


def _message_ids(value: str) -> list[str]:
    ids = _MESSAGE_ID.findall(value)
    if ids:
        return ids
    return [f"<{token.strip('<>')}>" for token in value.split() if "@" in token.strip("<>")]


# --- bodies ---------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """Text of an HTML body: blocks become lines, blockquotes become "> " quotes."""

    _SKIP = frozenset({"script", "style", "head", "title"})
    _LINE = frozenset({"div", "li", "tr", "ul", "ol", "hr", "pre", "table"})
    _PARAGRAPH = frozenset({"p", "blockquote", *(f"h{level}" for level in range(1, 7))})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skipping = 0
        self._quote_depth = 0

    def end_line(self, *, blank: bool = False) -> None:
        text = " ".join("".join(self._line).split())
        self._line = []
        if text:
            self.lines.append("> " * self._quote_depth + text)
        if blank:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "br":
            # a <br> on an empty line is a blank line ("Hi<br><br>Thanks")
            self.end_line(blank=not "".join(self._line).strip())
        elif tag in self._LINE or tag in self._PARAGRAPH:
            self.end_line()
        if tag == "blockquote":
            self._quote_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._PARAGRAPH:
            self.end_line(blank=True)
        elif tag in self._LINE:
            self.end_line()
        if tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._line.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (no layout beyond lines and "> " quotes)."""
    extractor = _HtmlText()
    try:
        extractor.feed(html)
        extractor.close()
    except AssertionError:  # _markupbase asserts on a malformed "<![...[" section
        text = unescape(re.sub(r"<[^>]*>", " ", html))
        return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()
    extractor.end_line()
    return _BLANK_LINES.sub("\n\n", "\n".join(extractor.lines)).strip()


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _decode(payload, part.get_content_charset())


def _raw_bodies(message: Message) -> tuple[str, str]:
    """(first text/plain, first text/html) that is not an attachment."""
    text = html = ""
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and not text:
            text = _part_text(part)
        elif content_type == "text/html" and not html:
            html = _part_text(part)
    return text, html


# --- the post -------------------------------------------------------------------------------


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


class _Post:
    """One Inbound Parse post: its fields re-decoded, and the message that carries the headers
    (the raw `email` in raw mode, the `headers` block in parsed mode)."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._fields = fields
        self._charsets = _json_object(fields.get("charsets"))
        self.envelope = _json_object(fields.get("envelope"))
        raw_email = fields.get("email")
        self.raw_mode = isinstance(raw_email, str) and bool(raw_email.strip())
        if isinstance(raw_email, str) and self.raw_mode:
            self.message = BytesParser(policy=policy.compat32).parsebytes(_raw_bytes(raw_email))
        else:
            self.message = Parser(policy=policy.compat32).parsestr(
                self.field("headers"), headersonly=True
            )

    def field(self, name: str) -> str:
        value = self._fields.get(name)
        if not isinstance(value, str):
            return ""
        charset = self._charsets.get(name)
        return _redecode_field(value, charset if isinstance(charset, str) else None)

    def header_values(self, name: str) -> list[str]:
        """Raw values of every `name` header (compat32 keeps them as they came)."""
        lowered = name.lower()
        return [str(value) for key, value in self.message.raw_items() if key.lower() == lowered]

    def header(self, name: str) -> str:
        values = self.header_values(name)
        return _unfold(values[0]) if values else ""

    def text(self) -> str:
        text, html = _raw_bodies(self.message) if self.raw_mode else ("", "")
        text = text or self.field("text")
        html = html or self.field("html")
        if not text.strip() and html.strip():
            text = html_to_text(html)
        return _NEWLINE.sub("\n", text).strip()

    def senders(self) -> list[tuple[str, str]]:
        """(name, address) candidates, best first: the from field, From, the envelope."""
        envelope_from = self.envelope.get("from")
        return [
            *_addresses(self.field("from")),
            *(address for value in self.header_values("From") for address in _addresses(value)),
            *(_addresses(envelope_from) if isinstance(envelope_from, str) else []),
        ]

    def recipients(self) -> list[str]:
        """Addresses from the to and cc fields, the To and Cc headers, the envelope."""
        values = [
            self.field("to"),
            self.field("cc"),
            *self.header_values("To"),
            *self.header_values("Cc"),
        ]
        envelope_to = self.envelope.get("to")
        for value in envelope_to if isinstance(envelope_to, list) else [envelope_to]:
            if isinstance(value, str):
                values.append(value)
        return _dedupe(spec for value in values for _, spec in _addresses(value))


def parse_inbound(fields: Mapping[str, str], *, received: date) -> InboundMessage:
    """The inbound message in an Inbound Parse post (parsed mode: `headers`, `text`, `html`, ...;
    raw mode: `email`). `received` is the day it arrived, for reading return dates.

    Raises `MalformedInbound` when there is neither a sender nor a recipient address; any other
    input, however broken, gives a message.

    Encodings: `fields` are the form fields decoded as Starlette's `request.form()` does (UTF-8,
    or Latin-1 for a field that is not valid UTF-8), or losslessly with UTF-8 `surrogateescape`.
    From that the bytes are recovered:
    - parsed mode: a field that the `charsets` JSON names (SendGrid posts text and html in the
      mail's own charset), whose value is Latin-1-decoded non-UTF-8 bytes or carries surrogate
      escapes, is re-decoded with that charset; a value that was valid UTF-8 is kept;
    - raw mode: `email` becomes bytes again (UTF-8; Latin-1 when those bytes are not UTF-8 and
      the message declares a charset other than UTF-8) for `BytesParser`, so that each part is
      decoded with its own charset.
    Strings in the result carry no NUL (PostgreSQL refuses it) and no lone surrogate (JSON does).
    """
    post = _Post(fields)
    senders = post.senders()
    recipients = post.recipients()
    if not senders and not recipients:
        raise MalformedInbound(
            "from/to",
            "no sender address (from, headers From, envelope, email) "
            "and no recipient address (to, cc, headers To/Cc, envelope, email)",
        )
    from_email = senders[0][1] if senders else None
    from_name = next((name for name, spec in senders if spec == from_email and name), "")

    used_headers = {
        name: _decode_words(values[0])
        for name in (*THREAD_HEADERS, *AUTO_REPLY_HEADERS)
        if (values := post.header_values(name))
    }
    subject = _decode_words(post.field("subject")) or _decode_words(post.header("Subject"))
    text = post.text()
    new_text = reply_body(text)
    verdict = detect_auto_reply(used_headers, subject, new_text, received=received)
    message_ids = _message_ids(post.header("Message-ID"))

    return InboundMessage(
        from_email=_clean(from_email) if from_email else None,
        from_name=_clean(_decode_words(from_name)) or None,
        to=[_clean(address) for address in recipients],
        subject=_clean(subject),
        text=_clean(text),
        new_text=_clean(new_text),
        message_id=_clean(message_ids[0]) if message_ids else None,
        in_reply_to=[_clean(i) for i in _message_ids(post.header("In-Reply-To"))],
        references=[_clean(i) for i in _message_ids(post.header("References"))],
        reply_tokens=_dedupe(
            match.group(1).lower()
            for address in recipients
            if (match := _REPLY_LOCAL_PART.fullmatch(address.rpartition("@")[0]))
        ),
        auto_reply=verdict.is_auto,
        auto_reply_reason=_clean(verdict.reason) if verdict.reason else None,
        return_date=verdict.return_date,
        headers={name: _clean(value) for name, value in used_headers.items()},
    )
