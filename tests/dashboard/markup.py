"""Reads a dashboard page the way the tests need: the text of each `data-testid` element, links."""

from __future__ import annotations

from html.parser import HTMLParser


class _TestIds(HTMLParser):
    VOID = {"input", "br", "img", "meta", "link", "hr", "rect"}

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self.attrs_of: dict[str, list[dict[str, str]]] = {}
        self.links: list[str] = []
        self._open: list[tuple[str, str | None, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        testid = a.get("data-testid")
        if testid is not None:
            self.attrs_of.setdefault(testid, []).append(a)
        if tag not in self.VOID:
            self._open.append((tag, testid, []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, testid, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if testid is not None:
                self.values.setdefault(testid, []).append(text)
            if self._open:
                self._open[-1][2].append("".join(parts))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)


class Page:
    def __init__(self, html: str) -> None:
        parser = _TestIds()
        parser.feed(html)
        parser.close()
        self.html = html
        self.values = parser.values
        self.attrs_of = parser.attrs_of
        self.links = parser.links

    def text(self, testid: str) -> str:
        """The text of the one element with that `data-testid`."""
        found = self.values.get(testid, [])
        assert len(found) == 1, f"{testid}: {found!r}"
        return found[0]

    def number(self, testid: str) -> int:
        return int(self.text(testid))

    def all(self, testid: str) -> list[str]:
        return self.values.get(testid, [])
