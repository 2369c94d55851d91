"""Renders a step's email from its Jinja2 template: subject, text and HTML, personalised with
fallbacks, and always closed by the compliance footer (unsubscribe link and postal address).

A template is one file, `templates/<sequence>/<step>.jinja` (or `<step>.<language>.jinja`),
with the blocks `subject`, `text` and `html`.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from models.errors import TemplateError

#: Greeting when the first name is unknown: friendly, never "Dear Sir/Madam".
FALLBACK_GREETING = "Hi there,"


@dataclass(frozen=True)
class Recipient:
    """What templates may use about the contact."""

    first_name: str | None
    last_name: str | None
    company: str | None
    country: str | None
    language: str | None
    custom: dict[str, Any]

    @classmethod
    def of(cls, contact: Any) -> Recipient:
        """What templates may use of a stored contact (a `models.tables.Contact`)."""
        return cls(
            first_name=contact.first_name,
            last_name=contact.last_name,
            company=contact.company,
            country=contact.country,
            language=contact.language,
            custom=dict(contact.custom or {}),
        )


@dataclass(frozen=True)
class SenderIdentity:
    from_name: str
    from_email: str
    postal_address: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def greeting(recipient: Recipient) -> str:
    """`Hi Anna,` — or, without a first name, the company's team, or a friendly fallback."""
    if recipient.first_name and recipient.first_name.strip():
        return f"Hi {recipient.first_name.strip()},"
    if recipient.company and recipient.company.strip():
        return f"Hi {recipient.company.strip()} team,"
    return FALLBACK_GREETING


class Renderer:
    """Loads and renders step templates from one directory."""

    def __init__(self, templates_dir: Path) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(default=False),
            keep_trailing_newline=False,
        )

    def _template(self, name: str, language: str | None) -> jinja2.Template:
        candidates = [f"{name}.{language.lower()}.jinja"] if language else []
        candidates.append(f"{name}.jinja")
        try:
            return self._env.select_template(candidates)
        except jinja2.TemplatesNotFound as exc:
            raise TemplateError(f"template {name!r} not found (looked for {candidates})") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"template {name!r} line {exc.lineno}: {exc.message}") from exc

    def render(
        self,
        name: str,
        recipient: Recipient,
        sender: SenderIdentity,
        *,
        unsubscribe_url: str,
    ) -> RenderedEmail:
        """Render the template `name` for one recipient, with the compliance footer added."""
        template = self._template(name, recipient.language)
        missing = {"subject", "text", "html"} - set(template.blocks)
        if missing:
            raise TemplateError(f"template {name!r} lacks block(s): {', '.join(sorted(missing))}")
        context = template.new_context(
            {
                "contact": recipient,
                "sender": sender,
                "greeting": greeting(recipient),
                "unsubscribe_url": unsubscribe_url,
            }
        )
        try:
            subject = " ".join("".join(template.blocks["subject"](context)).split())
            text = "".join(template.blocks["text"](context)).strip()
            html = "".join(template.blocks["html"](context)).strip()
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {name!r}: {exc.message}") from exc
        if not subject:
            raise TemplateError(f"template {name!r} renders an empty subject")
        return RenderedEmail(
            subject=subject,
            text=text + text_footer(sender, unsubscribe_url),
            html=html + html_footer(sender, unsubscribe_url),
        )


def text_footer(sender: SenderIdentity, unsubscribe_url: str) -> str:
    return (
        f"\n\n--\n{sender.from_name}\n{sender.postal_address}\n"
        f"Don't want these emails? Unsubscribe: {unsubscribe_url}\n"
    )


def html_footer(sender: SenderIdentity, unsubscribe_url: str) -> str:
    esc = html_lib.escape
    return (
        '\n<hr><p style="font-size:12px;color:#666">'
        f"{esc(sender.from_name)}<br>{esc(sender.postal_address).replace(chr(10), '<br>')}<br>"
        f'Don\'t want these emails? <a href="{esc(unsubscribe_url)}">Unsubscribe</a></p>'
    )


__all__ = [
    "FALLBACK_GREETING",
    "Recipient",
    "RenderedEmail",
    "Renderer",
    "SenderIdentity",
    "greeting",
]
