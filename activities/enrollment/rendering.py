"""Renders an email from its Jinja2 template: subject, text and HTML, personalised with
fallbacks; a step's email is always closed by the compliance footer (unsubscribe link and postal
address).

A template is one file, `templates/<sequence>/<step>.jinja` (or `<step>.<language>.jinja`,
chosen by the contact's language, whose `greeting` is in that language), with the blocks
`subject`, `text` and `html`. Contact data is untrusted, so each part is rendered
for what it is:

- `html` — autoescaped. The file is compiled by an escaping environment that refuses a template
  turning escaping off (`{% autoescape false %}`) or marking anything but a literal of its own
  `|safe`: deliberate HTML is template-owned (`"<br>"|safe`), never contact data. `safe` and
  `tojson` are not even in its filter table, so no filter chosen at run time can reach them.
- `text` — plain text, never entity-escaped (`Müller & Söhne` stays as written).
- `subject` — plain text on one line: control characters (CR, LF, TAB, NUL, …), line separators
  and bidi controls are dropped or turned into spaces, so nothing can add a header line or
  spoof the reading order.

Contact fields reach every part as single lines (`single_line`): an imported name cannot break
the greeting line.

The business event that enrolled the contact (a sequence's trigger) is `event`: its properties
by name, `{{ event.product }}`, `{{ event["unit price"] }}`. They are posted by other systems, so
they are untrusted exactly like contact data (single lines, escaped in the HTML). A property the
event lacks is None, as an unknown contact field is — and so is every property when no event
enrolled the contact — so a template gives each a fallback: `{{ event.product or "the parts" }}`,
`{% if event.quote_number %}`. Explicit bidi embeddings, overrides and isolates (U+202A–U+202E,
U+2066–U+2069) are removed because they reorder the template's own text after them; the
invisible marks (LRM U+200E, RLM U+200F, ALM U+061C) stay, as right-to-left names need them and
they open nothing that outlasts them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, escape

from models.errors import TemplateError

#: Greeting when the first name is unknown: friendly, never "Dear Sir/Madam".
FALLBACK_GREETING = "Hi there,"

#: LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI: they reorder whatever follows them.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
#: Control characters and line/paragraph separators: each becomes a space.
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})
#: Names a template's context always holds; the extra links may not shadow them.
_RESERVED = frozenset({"contact", "sender", "greeting", "event"})


def single_line(value: str) -> str:
    """`value` as one line of plain text: bidi controls dropped, control characters and line
    separators turned into spaces, runs of whitespace collapsed, ends stripped."""
    value = value.translate(_BIDI_CONTROLS)
    value = "".join(" " if unicodedata.category(c) in _LINE_BREAKING else c for c in value)
    return " ".join(value.split())


def address(email: str, *name_parts: str | None) -> dict[str, str]:
    """A SendGrid address object: the email and, when any part is given, a display name joined
    from the parts as one line (no CR/LF or bidi controls reach the To or From header)."""
    name = single_line(" ".join(p for p in name_parts if p))
    return {"email": email, "name": name} if name else {"email": email}


def _single_line_or_none(value: str | None) -> str | None:
    return None if value is None else single_line(value)


def _single_lines(value: Any) -> Any:
    """Every string in `value` (a JSON-like value: custom fields) made a single line."""
    if isinstance(value, str):
        return single_line(value)
    if isinstance(value, dict):
        return {k: _single_lines(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_single_lines(v) for v in value]
    return value


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

    def single_lines(self) -> Recipient:
        """The same fields, each one line of text (`single_line`), as templates get them."""
        return Recipient(
            first_name=_single_line_or_none(self.first_name),
            last_name=_single_line_or_none(self.last_name),
            company=_single_line_or_none(self.company),
            country=_single_line_or_none(self.country),
            language=_single_line_or_none(self.language),
            custom=_single_lines(self.custom),
        )


class EventProperties:
    """What templates see of the triggering business event: `event.product` (or
    `event["unit price"]`) is that property, each string in it one line (`single_line`); a
    property it lacks is None. Nothing but properties is reachable: no method or attribute of the
    object shadows a property named `items` or `keys`."""

    __slots__ = ("_values",)

    def __init__(self, properties: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_values", _single_lines(dict(properties or {})))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # copy, pickle and Jinja's own probes
        return self._values.get(name)

    def __getitem__(self, name: str) -> Any:
        return self._values.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __bool__(self) -> bool:
        return bool(self._values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("event properties are read-only")

    def __repr__(self) -> str:
        return f"EventProperties({sorted(self._values)})"  # names, never values


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


#: The greeting of a template written in another language (`<step>.de.jinja`): with a first
#: name, and without one (a company "team" greeting reads oddly in German).
GREETINGS: dict[str, tuple[str, str]] = {"de": ("Hallo {first_name},", "Guten Tag,")}


def greeting(recipient: Recipient, language: str | None = None) -> str:
    """`Hi Anna,` — or, without a first name, the company's team, or a friendly fallback. For a
    template in a language of `GREETINGS` (the template's language, not the contact's: an English
    template greets in English), that language's greeting: `Hallo Anna,`, `Guten Tag,`."""
    first_name = single_line(recipient.first_name or "")
    if language in GREETINGS:
        named, nameless = GREETINGS[language]
        return named.format(first_name=first_name) if first_name else nameless
    if first_name:
        return f"Hi {first_name},"
    company = single_line(recipient.company or "")
    if company:
        return f"Hi {company} team,"
    return FALLBACK_GREETING


#: Filters the escaping environment does not have: `safe` would mark contact data as HTML
#: (a literal's `|safe` is rewritten before compiling, see `_SafeLiterals`), and `tojson` escapes
#: `<>&'` but not `"`, so inside an attribute it would let a value close the attribute.
_UNSAFE_FILTERS = frozenset({"safe", "tojson"})


class _EscapingEnvironment(jinja2.Environment):
    """Autoescapes every template and refuses one that would output unescaped data."""

    def __init__(self, **options: Any) -> None:
        super().__init__(autoescape=True, **options)
        for unsafe in _UNSAFE_FILTERS:
            # Gone from the table, not only refused in the parse tree: a filter named at run
            # time (`map("safe")`, `map(variable)`) fails instead of marking data safe.
            del self.filters[unsafe]

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # `_parse` is private, but it is the one funnel every template (and every include or
        # import of one) is parsed through, whether loaded, compiled or parsed.
        template = super()._parse(source, name, filename)
        _refuse_unescaped_output(template, name, filename)
        return _SafeLiterals(name, filename).visit(template)


def _refuse_unescaped_output(
    template: nodes.Template, name: str | None, filename: str | None
) -> None:
    """Raise `TemplateSyntaxError` where a template turns escaping off or names an unsafe
    filter as an argument (`map("safe")`)."""

    def refuse(message: str, node: nodes.Node) -> jinja2.TemplateSyntaxError:
        return jinja2.TemplateSyntaxError(message, node.lineno, name, filename)

    for modifier in template.find_all(nodes.EvalContextModifier):
        for option in modifier.options:
            if option.key == "autoescape" and not (
                isinstance(option.value, nodes.Const) and option.value.value is True
            ):
                raise refuse(
                    "autoescaping may not be turned off: contact data would go into the HTML raw",
                    modifier,
                )
    for mapping in template.find_all(nodes.Filter):
        if mapping.name != "map":
            continue  # `map` is the one filter that applies another filter named by a string
        for argument in mapping.args:
            if isinstance(argument, nodes.Const) and argument.value in _UNSAFE_FILTERS:
                raise refuse(
                    f'map("{argument.value}") would put contact data into the HTML raw',
                    argument,
                )


class _SafeLiterals(NodeTransformer):
    """Rewrites `<literal>|safe` to a markup literal and refuses any other `|safe` or
    `|tojson`: deliberate HTML is written in the template (`"<br>"|safe`), never built from a
    variable."""

    def __init__(self, name: str | None, filename: str | None) -> None:
        self._name = name
        self._filename = filename

    def visit_Filter(self, node: nodes.Filter) -> nodes.Node:
        self.generic_visit(node)  # a Filter's children are rewritten in place
        if node.name not in _UNSAFE_FILTERS:
            return node
        literal = node.node is not None and not any(True for _ in node.node.find_all(nodes.Name))
        if node.name == "safe" and literal and not isinstance(node.node, nodes.Name):
            return nodes.MarkSafe(node.node, lineno=node.lineno)
        raise jinja2.TemplateSyntaxError(
            '|safe may only mark a literal written in the template ("<br>"|safe), and |tojson '
            "is not available: either would put contact data into the HTML raw",
            node.lineno,
            self._name,
            self._filename,
        )


class Renderer:
    """Loads and renders templates from one directory, or several searched in order (nurture's
    own, then each outside sequence's: see `workflows.registry`); the module docstring says how
    each part is made safe."""

    def __init__(self, templates_dir: Path | Sequence[Path]) -> None:
        dirs = [templates_dir] if isinstance(templates_dir, Path) else list(templates_dir)
        options: dict[str, Any] = {
            "loader": jinja2.FileSystemLoader([str(d) for d in dirs]),
            "undefined": jinja2.StrictUndefined,
            "keep_trailing_newline": False,
        }
        # One file, compiled twice: autoescaping is fixed when a template compiles.
        self._html_env = _EscapingEnvironment(**options)
        self._plain_env = jinja2.Environment(autoescape=False, **options)

    def _template(
        self, env: jinja2.Environment, name: str, language: str | None
    ) -> jinja2.Template:
        candidates = [f"{name}.{language.lower()}.jinja"] if language else []
        candidates.append(f"{name}.jinja")
        try:
            return env.select_template(candidates)
        except jinja2.TemplatesNotFound as exc:
            raise TemplateError(f"template {name!r} not found (looked for {candidates})") from exc
        except jinja2.TemplateSyntaxError as exc:
            where = exc.name or name  # the included template, when the fault is in one
            raise TemplateError(f"template {where!r} line {exc.lineno}: {exc.message}") from exc

    def render(
        self,
        name: str,
        recipient: Recipient,
        sender: SenderIdentity,
        *,
        unsubscribe_url: str,
        event: Mapping[str, Any] | None = None,
    ) -> RenderedEmail:
        """Render the step template `name` for one recipient, with the compliance footer added.
        `event` is the triggering business event's properties (None: no event, all None)."""
        email = self.render_blocks(
            name, recipient, sender, links={"unsubscribe_url": unsubscribe_url}, event=event
        )
        return RenderedEmail(
            subject=email.subject,
            text=email.text + text_footer(sender, unsubscribe_url),
            html=email.html + html_footer(sender, unsubscribe_url),
        )

    def render_blocks(
        self,
        name: str,
        recipient: Recipient,
        sender: SenderIdentity,
        *,
        links: Mapping[str, str],
        event: Mapping[str, Any] | None = None,
    ) -> RenderedEmail:
        """Render the template `name`'s three blocks and add nothing: for a mail that carries
        its own footer (the double opt-in request). `links` are the URLs the template uses,
        by name (`{"confirm_url": ...}`); `event` the triggering event's properties."""
        if clash := _RESERVED & set(links):
            raise ValueError(f"links may not be named {', '.join(sorted(clash))}")
        html_template = self._template(self._html_env, name, recipient.language)
        plain_template = self._template(self._plain_env, name, recipient.language)
        missing = {"subject", "text", "html"} - set(plain_template.blocks)
        if missing:
            raise TemplateError(f"template {name!r} lacks block(s): {', '.join(sorted(missing))}")
        contact = recipient.single_lines()
        language = _language_of(plain_template, name)
        values = {
            "contact": contact,
            "sender": sender,
            "greeting": greeting(contact, language),
            "event": EventProperties(event),
            **links,
        }
        try:
            plain = plain_template.new_context(dict(values))
            subject = single_line("".join(plain_template.blocks["subject"](plain)))
            text = "".join(plain_template.blocks["text"](plain)).strip()
            escaped = html_template.new_context(dict(values))
            html = "".join(html_template.blocks["html"](escaped)).strip()
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {name!r}: {exc.message or exc}") from exc
        if not subject:
            raise TemplateError(f"template {name!r} renders an empty subject")
        return RenderedEmail(subject=subject, text=text, html=html)


def _language_of(template: jinja2.Template, name: str) -> str | None:
    """The language of the file chosen for `name`: `de` for `<name>.de.jinja`, else None."""
    chosen = (template.name or "").removesuffix(".jinja")
    return chosen.removeprefix(f"{name}.") if chosen != name and chosen.startswith(name) else None


def text_footer(sender: SenderIdentity, unsubscribe_url: str) -> str:
    return (
        f"\n\n--\n{sender.from_name}\n{sender.postal_address}\n"
        f"Don't want these emails? Unsubscribe: {unsubscribe_url}\n"
    )


def html_footer(sender: SenderIdentity, unsubscribe_url: str) -> str:
    """The footer's HTML; `Markup` escapes every value put into it, and it is returned as a
    plain `str` so that appending it to a rendered body escapes neither of them again."""
    postal = Markup("<br>").join(escape(line) for line in sender.postal_address.split("\n"))
    footer = Markup(
        '\n<hr><p style="font-size:12px;color:#666">{name}<br>{address}<br>'
        'Don\'t want these emails? <a href="{url}">Unsubscribe</a></p>'
    ).format(name=sender.from_name, address=postal, url=unsubscribe_url)
    return str(footer)


__all__ = [
    "FALLBACK_GREETING",
    "GREETINGS",
    "EventProperties",
    "Recipient",
    "RenderedEmail",
    "Renderer",
    "SenderIdentity",
    "address",
    "greeting",
    "html_footer",
    "single_line",
    "text_footer",
]
