"""What the rules read: a rendered email's HTML as a mail client shows it (visible text, links,
images) and a template's source (its literal text and context variables, includes followed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import jinja2
from jinja2 import meta, nodes

_TAG = re.compile(r"<[^>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|"
    r"(?:font-size|max-height|opacity)\s*:\s*0(?![.\d])",
    re.IGNORECASE,
)
_HIDING_ELEMENTS = frozenset({"head", "title", "style", "script", "template", "noscript"})
_VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
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
