"""The new text of a reply: what the person wrote now, without the quoted history (attribution
lines, Outlook header blocks, "> " lines), the signature or a legal disclaimer. Pure and bounded:
only the first `MAX_INPUT_CHARS` of a body are read, line by line, with anchored patterns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

__all__ = ["MAX_INPUT_CHARS", "reply_body"]

#: Only this much of a body is read: what a person writes above the quote is never longer, and a
#: 30 MB body must cost no more than a normal one.
MAX_INPUT_CHARS = 200_000

#: A longer line is matched on its start only (attribution and header lines are short).
_LINE_CHARS = 400

#: An attribution wrapped by the client is looked for over this many lines.
_WRAP_LINES = 3

_SURROGATE = re.compile("[\ud800-\udfff]")
_INVISIBLE = str.maketrans({"\x00": None, "\u200b": None, "\u200e": None, "\u200f": None,
                            "\ufeff": None, "\u00a0": " ", "\u3000": " "})  # fmt: skip

# --- quoted history -------------------------------------------------------------------------

#: How an attribution line ends ("... wrote:", "... a écrit :", "... 写道："); "schrieb" and
#: "schreef" may be followed by the name or the date ("Anna <a@x> schrieb am 4.3.2025 10:02:").
_ATTRIBUTION_END = re.compile(
    r"(?:wrote|a\s?[ée]crit|escribi[óo]|escreveu|ha\s+scritto|geschreven|写道|寫道|"
    r"napisa[łl](?:\(a\))?|skrev|kirjoitti)\s*[:：]\s*$"
    r"|(?:schrieb|schreef|skrev)\b.{0,120}[:：]\s*$",
    re.IGNORECASE,
)
#: How a client starts an attribution ("On", "Am", "Le", "El", "Em", "Il", "Op", "在"...).
_ATTRIBUTION_START = re.compile(
    r"(?:on|am|le|el|em|às|as|il|op|den|在|于)\b|\d|\w+\s*<[^>\s]+@", re.IGNORECASE
)
_SEPARATOR = re.compile(
    r"^[-_=*\s]{2,}\s*(?:original(?:\s+message)?|original-nachricht|urspr[üu]ngliche\s+nachricht"
    r"|message\s+d['’]origine|message\s+original|mensaje\s+original|mensagem\s+original"
    r"|messaggio\s+originale|oorspronkelijk\s+bericht|origineel\s+bericht"
    r"|forwarded\s+message|weitergeleitete\s+nachricht|message\s+transf[ée]r[ée]"
    r"|mensaje\s+reenviado|mensagem\s+encaminhada|messaggio\s+inoltrato|doorgestuurd\s+bericht"
    r"|原始邮件|原始郵件|原邮件|转发邮件|轉寄郵件|邮件原文)\s*[-_=*]{2,}"
    r"|^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+(?:nachricht|e-?mail)"
    r"|d[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]|inicio\s+del\s+mensaje\s+reenviado)\s*:",
    re.IGNORECASE,
)
_FROM_HEADER = re.compile(
    r"^\*{0,2}(?:from|von|de|da|van|fr[åa]n|fra|od|发件人|發件人|寄件者|寄件人)\*{0,2}\s*[:：]",
    re.IGNORECASE,
)
_OTHER_HEADER = re.compile(
    r"^\*{0,2}(?:sent|date|to|subject|cc|bcc|reply-to|gesendet|datum|an|betreff|kopie"
    r"|envoy[ée](?:\s+le)?|[àa]|objet|enviado(?:\s+el)?|enviada|fecha|para|asunto|inviato|data"
    r"|oggetto|verzonden|aan|onderwerp|assunto|发送时间|發送時間|日期|时间|時間|收件人|收件者"
    r"|主题|主題|主旨|抄送|副本|寄件日期)\*{0,2}\s*[:：]",
    re.IGNORECASE,
)
_CHINESE_FROM = re.compile(r"^\*{0,2}(?:发件人|發件人|寄件者)\*{0,2}\s*[:：]")


class _Quote(Enum):
    """What starts the quoted history: an attribution ("On ... wrote:", followed by "> " lines,
    so a reply may stand below it) or a block quoted without marks (Outlook headers)."""

    ATTRIBUTION = "attribution"
    BLOCK = "block"


def _unquoted(line: str) -> str:
    return line.lstrip(" \t>")


def _is_attribution(candidate: str) -> bool:
    candidate = " ".join(candidate.split())
    return bool(
        candidate
        and len(candidate) <= 3 * _LINE_CHARS
        and _ATTRIBUTION_END.search(candidate)
        and (_ATTRIBUTION_START.match(candidate) or "@" in candidate)
    )


def _attribution_span(lines: Sequence[str], index: int) -> int:
    """How many lines the attribution starting at `index` takes (0: none there)."""
    if not lines[index].strip():
        return 0
    first = _unquoted(lines[index])[:_LINE_CHARS]
    if _is_attribution(first):
        return 1
    if not _ATTRIBUTION_START.match(first):
        return 0  # a wrapped attribution starts like one ("On Tue, 4 Mar ... <")
    joined = first
    for span in range(2, _WRAP_LINES + 1):
        if index + span > len(lines) or not lines[index + span - 1].strip():
            break
        joined = f"{joined} {_unquoted(lines[index + span - 1])[:_LINE_CHARS]}"
        if _is_attribution(joined):
            return span
    return 0


def _is_header_block(lines: Sequence[str], index: int) -> bool:
    """A From/Sent/To/Subject block (any order, in the listed languages) starts at `index`."""
    first = _unquoted(lines[index])[:_LINE_CHARS]
    if _CHINESE_FROM.match(first):
        return True
    if not (_FROM_HEADER.match(first) or _OTHER_HEADER.match(first)):
        return False
    following = [_unquoted(line)[:_LINE_CHARS] for line in lines[index : index + 6]]
    headers = [line for line in following if _FROM_HEADER.match(line) or _OTHER_HEADER.match(line)]
    return len(headers) >= 2 and any(_FROM_HEADER.match(line) for line in headers)


def _quote_start(lines: Sequence[str], start: int = 0) -> tuple[int, int, _Quote] | None:
    """(line index, lines taken, kind) of the first quoted-history marker from `start`."""
    for index in range(start, len(lines)):
        line = _unquoted(lines[index])[:_LINE_CHARS]
        if not line:
            continue
        if _SEPARATOR.match(line) or _is_header_block(lines, index):
            return index, 1, _Quote.BLOCK
        span = _attribution_span(lines, index)
        if span:
            return index, span, _Quote.ATTRIBUTION
    return None


def _without_history(lines: list[str]) -> list[str]:
    """The lines written now: above the first marker, or below a "> " quote when a reply was
    written under its attribution; never a "> " line."""
    found = _quote_start(lines)
    if found is None:
        return [line for line in lines if not line.lstrip().startswith(">")]
    index, span, kind = found
    above = [line for line in lines[:index] if not line.lstrip().startswith(">")]
    if any(line.strip() for line in above) or kind is _Quote.BLOCK:
        return above
    below = lines[index + span :]
    after = _quote_start(below)
    if after is not None:
        below = below[: after[0]]
    return [line for line in below if not line.lstrip().startswith(">")]


# --- disclaimers ----------------------------------------------------------------------------

_DISCLAIMER = re.compile(
    "|".join(
        (
            # en
            r"\b(?:confidentiality|legal|privacy|important)\s+(?:notice|note|disclaimer|warning)",
            r"^\W*(?:disclaimer|confidential(?:ity)?)\b",
            r"\bthis\s+(?:e-?mail|message|communication|transmission)\b[^.]{0,160}?\b(?:confidential"
            r"|privileged|intended\s+(?:solely|only|exclusively))",
            r"\bthe\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message|communication)",
            r"\bif\s+you\s+(?:are\s+not|have\s+received\s+this)\b[^.]{0,100}?\b(?:intended\s+recipient"
            r"|in\s+error|by\s+mistake)",
            r"\b(?:caution|warning|external)\b[^.]{0,30}?\b(?:originated|came|comes|is)\s+from"
            r"\s+outside",
            r"^\W*\[?external(?:\s+e-?mail)?\]?\s*[:\]]",
            r"\bconsider\s+the\s+environment\s+before\s+printing",
            # de
            r"\bdiese\s+(?:e-?mail|nachricht)\b[^.]{0,160}?\b(?:vertraulich|rechtlich\s+gesch)",
            r"\bwenn\s+sie\s+nicht\s+der\s+(?:richtige|beabsichtigte)\s+(?:adressat|empf)",
            r"\b(?:haftungsausschluss|vertraulichkeitshinweis|datenschutzhinweis|rechtlicher\s+hinweis)",
            r"\birrt[üu]mlich\s+erhalten",
            r"\bdenken\s+sie\s+an\s+die\s+umwelt",
            r"^\W*(?:gesch[äa]ftsf[üu]hr(?:er|ung)|amtsgericht|registergericht|handelsregister|sitz\s+der"
            r"\s+gesellschaft)\b",
            # fr
            r"\bce\s+(?:message|courriel|e-?mail|mail)\b[^.]{0,160}?\b(?:confidentiel|destin[ée]|strictement)",
            r"\bsi\s+vous\s+(?:n['’]?\s*[êe]tes\s+pas|avez\s+re[çc]u\s+ce)\b[^.]{0,100}?\b(?:destinataire"
            r"|par\s+erreur)",
            r"\b(?:avis|clause|note)\s+de\s+confidentialit[ée]|\bmentions?\s+l[ée]gales?",
            r"\bavant\s+d['’]\s*imprimer|\bpensez\s+[àa]\s+l['’]\s*environnement",
            # es
            r"\beste\s+(?:mensaje|correo|e-?mail)\b[^.]{0,160}?\b(?:confidencial|destinado|dirigido"
            r"|privilegiad)",
            r"\bsi\s+(?:usted\s+)?(?:no\s+es\s+el\s+destinatario|ha\s+recibido\s+este)",
            r"\baviso\s+(?:legal|de\s+confidencialidad)|\bcl[áa]usula\s+de\s+confidencialidad",
            r"\ben\s+cumplimiento\s+(?:de|del)\s+(?:la\s+|el\s+)?(?:rgpd|lopd|reglamento|ley)",
            r"\bantes\s+de\s+imprimir",
            # zh
            r"(?:本邮件|此邮件|该邮件|本电子邮件|本郵件|此郵件|本信).{0,60}?(?:保密|机密|機密|仅供|僅供|指定收件人)",
            r"(?:如果|如|若)(?:您|你)(?:不是|非|并非|並非).{0,20}?(?:收件人|收件者)",
            r"免责声明|免責聲明|保密声明|保密聲明|机密声明|法律声明",
        )
    ),
    re.IGNORECASE | re.MULTILINE,
)

#: A disclaimer is recognised on its paragraph's start.
_DISCLAIMER_CHARS = 400


def _paragraphs(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(first line, end line) of each run of non-blank lines."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for index, line in enumerate(lines):
        if line.strip() and start is None:
            start = index
        elif not line.strip() and start is not None:
            spans.append((start, index))
            start = None
    if start is not None:
        spans.append((start, len(lines)))
    return spans


def _without_disclaimers(lines: list[str]) -> list[str]:
    """Banners before the text are dropped; a notice after it is cut with what follows."""
    kept: list[str] = []
    for start, end in _paragraphs(lines):
        paragraph = " ".join(line.strip() for line in lines[start:end])[:_DISCLAIMER_CHARS]
        if _DISCLAIMER.search(paragraph):
            if kept:
                break
            continue
        kept.extend([*lines[start:end], ""])
    return kept


# --- signatures -----------------------------------------------------------------------------

#: "-- ", "__", or a rule of dashes ("—————", "-----", "=====") on its own line.
_SIGNATURE_DELIMITER = re.compile(r"^(?:--|-{2,}\s|_{2,}|—|–|[-—–_=~*]{3,})\s*$")
_SENT_FROM = re.compile(
    r"^(?:sent\s+(?:from|with|via)\b|get\s+outlook\s+for|von\s+meinem\b.{0,40}\bgesendet"
    r"|gesendet\s+(?:von|mit|vom)\b|envoy[ée]\s+(?:de|depuis|avec)\b|obtenir\s+outlook"
    r"|enviado\s+(?:desde|de|con)\b|obtener\s+outlook|enviado\s+do\s+meu|inviato\s+da\b"
    r"|verzonden\s+(?:vanaf|met)\b|发自(?:我的|网易|手机|移动|\s|outlook|qq|iphone|android)"
    r"|(?:从|從)我的.{0,30}(?:发送|發送)$|(?:来|來)自我的.{0,20}(?:手机|手機|iphone|ipad|设备|設備)"
    r"|使用.{0,20}(?:发送|發送)$)",
    re.IGNORECASE,
)
_SENT_FROM_CHARS = 80

_SIGN_OFF = re.compile(
    r"^(?:(?:with\s+)?(?:best|kind|warm|warmest|many|kindest)\s+(?:regards|wishes|thanks)"
    r"|regards|best|cheers|thanks|thank\s+you|many\s+thanks|thanks\s+(?:again|and\s+regards"
    r"|&\s+regards|in\s+advance)|(?:yours\s+)?(?:sincerely|faithfully|truly)|respectfully"
    r"|all\s+the\s+best|br|kr|rgds|brgds|tks|thx"
    # de
    r"|mit\s+(?:freundlichen|besten|herzlichen|sonnigen)\s+gr(?:ü|ue)(?:ß|ss)en|mit\s+freundlichem"
    r"\s+gru(?:ß|ss)|(?:freundliche|beste|viele|liebe|herzliche|sch(?:ö|oe)ne)\s+gr(?:ü|ue)(?:ß|ss)e"
    r"|(?:viele\s+)?gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|mfg|lg|vg|besten\s+dank|vielen\s+dank|danke"
    r"(?:\s+und\s+gru(?:ß|ss)|\s+sch(?:ö|oe)n)?"
    # fr
    r"|(?:bien\s+|tr[èe]s\s+)?cordialement|bien\s+(?:à|a)\s+vous|(?:sinc[èe]res\s+|meilleures\s+)?"
    r"salutations|bonne\s+(?:journ[ée]e|r[ée]ception|soir[ée]e)|merci(?:\s+beaucoup|\s+d['’]avance)?"
    r"|respectueusement|amicalement|cdt|slts|bav|veuillez\s+agr[ée]er\b.*"
    # es, pt, it, nl
    r"|(?:un\s+)?saludos?(?:\s+cordiales)?|(?:recib[ae]n?\s+)?un\s+(?:cordial\s+)?saludo"
    r"|atentamente|atte|cordialmente"
    r"|(?:muchas\s+)?gracias|quedo\s+(?:atent[oa]|a\s+la\s+espera).*|atenciosamente|cumprimentos"
    r"|(?:cordiali|distinti)\s+saluti|saluti|met\s+vriendelijke\s+groet(?:en)?|groeten|mvg"
    # zh
    r"|此致(?:敬礼)?|敬礼|祝好|顺(?:祝|颂)商祺|祝商祺|顺祝|致礼|祝(?:工作)?顺利|祝一切顺利"
    r"|祝生意兴隆|生意兴隆|谢谢您?|多谢|感谢)"
    r"(?![a-z])[\s,.!;:！。，、~-]*",
    re.IGNORECASE,
)
_COMPANY_END = re.compile(r"\b(?:ltd|inc|co|corp|llc|gmbh|s\.?a|s\.?l|b\.?v|ag|kg|srl)\.?$", re.I)
_CJK = re.compile(r"[\u3400-\u9fff]")


_FROM_PLACE = frozenset({"from", "aus", "de", "desde", "depuis", "du", "von"})


def _is_name(rest: str) -> bool:
    """What may follow a sign-off on its line: nothing, a short name ("Thanks, John"), the same
    sign-off in another language ("Mit freundlichen Grüßen / Best regards") or where it comes
    from ("Freundliche Grüße aus Linz", "Saludos desde Lima")."""
    words = rest.split()
    if not words:
        return True
    if rest.lstrip().startswith("/"):
        return _is_sign_off(rest.lstrip()[1:])
    if len(words) <= 3 and words[0].lower() in _FROM_PLACE:
        return True
    if _CJK.search(rest):
        return len(rest.strip()) <= 6
    return len(words) <= 4 and all(
        w[0].isupper() and not any(c.isdigit() for c in w) for w in words
    )


def _is_prose(line: str) -> bool:
    """A sentence someone wrote, which a signature block does not contain."""
    line = line.strip()
    if "?" in line or "？" in line:
        return True
    if len(_CJK.findall(line)) >= 12 and line.endswith(("。", "！")):
        return True
    return len(line.split()) >= 6 and line.endswith((".", "!")) and not _COMPANY_END.search(line)


def _is_sign_off(line: str) -> bool:
    line = line.strip()[:_LINE_CHARS]
    match = _SIGN_OFF.match(line)
    return match is not None and _is_name(line[match.end() :])


def _without_signature(lines: list[str]) -> list[str]:
    """The lines above a "-- " delimiter, a "Sent from my ..." line, or a sign-off followed by a
    name block without prose (a sign-off on the first line is the text itself: "Thanks!")."""
    prose_below = [False] * (len(lines) + 1)  # prose_below[i]: some line after i is prose
    for index in range(len(lines) - 1, 0, -1):
        prose_below[index - 1] = prose_below[index] or _is_prose(lines[index][:_LINE_CHARS])
    seen_text = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _SIGNATURE_DELIMITER.match(stripped) or (
            len(stripped) <= _SENT_FROM_CHARS and _SENT_FROM.match(stripped)
        ):
            return lines[:index]
        if seen_text and not prose_below[index] and _is_sign_off(stripped):
            return lines[:index]
        seen_text = seen_text or bool(stripped)
    return lines


# --- the new text ---------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n{3,}")


def _lines(text: str) -> list[str]:
    text = _SURROGATE.sub("\ufffd", text[:MAX_INPUT_CHARS].translate(_INVISIBLE))
    return [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def reply_body(text: str) -> str:
    """What the sender wrote now: `text` (a plain-text reply, at most its first `MAX_INPUT_CHARS`
    read) without quoted history — attribution lines in en/de/fr/es/zh/pt/it/nl ("On ... wrote:",
    "Am ... schrieb", "Le ... a écrit :", "El ... escribió:", "在 ... 写道："), Outlook header blocks
    (From/Sent, Von/Gesendet, De/Envoyé, 发件人/发送时间), "-----Original Message-----" and
    "原始邮件" separators, "> " lines — without signature ("-- ", "Sent from my iPhone" and its
    translations, a sign-off and name block) and without disclaimers or external-mail banners.
    Never raises; NUL and lone surrogates do not survive; blank runs are collapsed."""
    lines = _without_signature(_without_disclaimers(_without_history(_lines(text))))
    body = "\n".join(lines).strip()
    return _BLANK_LINES.sub("\n\n", body)
