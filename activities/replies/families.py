"""Cue families: an intent recognised by words of two or three kinds in one phrase — a verb of
stopping with a noun of mail ("cease all further correspondence"), "no more" with a mail compound
("keine Werbe-E-Mails mehr"), a verb of choosing with "another" ("nos decantamos por otra
empresa") — each kind written as stems per language, so that wordings the vocabulary (`cues`)
never listed still meet their family. They are ordinary `Cue`s: negation, the instruction guard
and opt-out precedence apply to them as to any phrase."""

from __future__ import annotations

from activities.replies.cues import Cue
from models.replies import ReplyIntent

__all__ = ["FAMILY_CUES"]

_OPT_OUT = ReplyIntent.OPT_OUT
_NOT_INTERESTED = ReplyIntent.NOT_INTERESTED
_WRONG_PERSON = ReplyIntent.WRONG_PERSON

#: Up to n words between two kinds ("stop sending [all of these] emails").
_GAP = {n: rf"(?:\S+ ){{0,{n}}}" for n in range(1, 6)}

_MONTHS_EN = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
)

# --- en -------------------------------------------------------------------------------------

_EN_MAIL = (
    r"(?:e-?mails?|mails?|mailings?|messages?|newsletters?|correspondence|communications?"
    r"|marketing|promotions?|promos?|solicitations?|pitches|follow-?ups?|reminders?|outreach"
    r"|advertising|spam|approaches|introductions)"
)
_EN_STOP = r"(?:stop|stops|stopped|cease|discontinue|halt|end|quit)"
_EN_LIST = r"(?:lists?|database|records|system|crm|mailing|distribution|contacts|files)"
_EN_REMOVE = r"(?:remov|delet|eras|purg|strik|exclud|unlist)\w*"

# --- de -------------------------------------------------------------------------------------

#: "Mails", "E-Mails", "Werbe-E-Mails", "Werbemails", "Newsletter", "Zusendungen" ...
_DE_MAIL = r"[\w-]*(?:mails?|nachrichten|werbung|newsletter|zusendungen|angebote|informationen)"
_DE_LIST = r"[\w-]*(?:liste|verteiler|datenbank|kartei|system|adressbuch|newsletter)\w*"

# --- fr, es, zh -----------------------------------------------------------------------------

_FR_MAIL = r"(?:e-?mails?|mails?|courriels?|messages?|newsletters?|envois?|sollicitations?)"
_ES_MAIL = r"(?:correos?|e-?mails?|mails?|mensajes?|envios|comunicaciones|newsletters?|boletines)"
_ZH_NOT_GOODS = r"(?!.{0,3}(?:样品|樣品|报价|報價|目录|目錄|资料|資料|货|貨))"


def _cue(intent: ReplyIntent, weight: float, language: str, phrase: str, *, negatable: bool) -> Cue:
    return Cue(intent, weight, phrase, language, negatable)


# fmt: off
FAMILY_CUES: tuple[Cue, ...] = (
    # a verb of stopping + a noun of mail: "cease all further correspondence", "discontinue your
    # mailings", "stop these promotional emails" (not "cease production", "stop by")
    _cue(_OPT_OUT, 0.9, "en", rf"{_EN_STOP} (?:all |any |the |these |this |your |those |such |further |future |sending |with )*(?:\w+ )?{_EN_MAIL}", negatable=True),
    # a verb of removal + me/my ... + from/off + a list noun: "delete my details from your CRM"
    _cue(_OPT_OUT, 0.9, "en", rf"{_EN_REMOVE} (?:me|us|my \S+|our \S+)(?: \S+){{0,3}} (?:from|off|out of) (?:your|the|this|all|any) (?:(?!cc |copy |loop )\S+ ){{0,2}}{_EN_LIST}", negatable=True),
    # "(this mailbox) should not receive them", "I would rather not receive these"
    _cue(_OPT_OUT, 0.85, "en", rf"(?:should|must|would rather|'d rather|prefer to) not (?:receive|get) (?:these|them|this|your|such|any)(?: {_EN_MAIL})?", negatable=False),
    _cue(_NOT_INTERESTED, 0.8, "en", r"(?:chose|chosen|decided|went|going|gone|opted|selected|picked|signed|sticking|stick|stay|staying) (?:\S+ ){0,3}(?:with|for|on) (?:another|a different|a competing|a competitor|an? other|a local|someone else)", negatable=False),
    _cue(_WRONG_PERSON, 0.85, "en", rf"(?:moved on|resigned|departed|retired) from|(?:i|he|she) (?:have |has |had )?(?:moved on|left|resigned|retired)(?: (?:from )?\S+)? (?:in|at the end of|last|earlier this) (?:{_MONTHS_EN}|month|year|week|summer|spring|autumn|winter)", negatable=False),
    _cue(_WRONG_PERSON, 0.8, "en", r"(?:not|isn't|outside|beyond) (?:\S+ ){0,2}(?:my|our) (?:\S+ ){0,2}(?:area|remit|responsibilit\w*|purview|scope|department|role)|(?:i only|i just|i) (?:look after|handle|do|deal with|work (?:in|on)) (?:\S+ ){0,3}(?:hr|payroll|finance|accounts|marketing|logistics|reception)(?![a-z])", negatable=False),

    # "keine Werbe-E-Mails mehr", "künftig keine Newsletter", "nichts mehr zusenden"
    _cue(_OPT_OUT, 0.9, "de", rf"(?:keine|keinerlei) {_GAP[2]}{_DE_MAIL} {_GAP[3]}mehr|(?:kunftig|zukunftig|in zukunft|ab sofort|ab jetzt|nicht mehr) {_GAP[2]}(?:keine|keinerlei) {_GAP[2]}{_DE_MAIL}", negatable=False),
    # a verb of removal + mich/meine ... + aus/von + a list noun: "löschen Sie meine Daten aus Ihrer Kartei"
    _cue(_OPT_OUT, 0.9, "de", rf"(?:losch|entfern|streich|nehm|trag)\w*(?: sie)? {_GAP[2]}(?:mich|uns|mein\w* \S+|unser\w* \S+) {_GAP[3]}(?:aus|von) {_GAP[2]}{_DE_LIST}", negatable=True),
    _cue(_NOT_INTERESTED, 0.8, "de", r"(?:brauchen|benotigen|suchen) (?:wir|ich) (?:\S+ ){0,3}nichts|nichts (?:\S+ ){0,2}(?:brauchen|benotigen)", negatable=False),
    _cue(_WRONG_PERSON, 0.85, "de", r"nicht (?:in |im |zu )?(?:mein\w*|unser\w*) (?:\S+ )?(?:[\w-]*verantwort\w*|[\w-]*zustandigkeit\w*|aufgaben\w*|bereich|ressort)", negatable=False),

    _cue(_NOT_INTERESTED, 0.8, "fr", r"(?:travaill|collabor)\w* (?:deja |depuis (?:\S+ ){1,3})avec|(?:avons|ai) deja (?:\S+ ){0,2}(?:fournisseurs?|partenaires?|prestataires?|fabricants?|tisseurs?|ateliers?|usines?)", negatable=False),
    _cue(_WRONG_PERSON, 0.85, "fr", r"(?:pris|prend|prendra|partie?|depart) (?:sa |a la )retraite|(?:n'est|ne suis) plus joignable|injoignable", negatable=False),
    _cue(_OPT_OUT, 0.9, "fr", rf"(?:cessez|cesser|arretez|arreter|stoppez|stopper) (?:\S+ ){{0,2}}{_FR_MAIL}", negatable=False),

    _cue(_NOT_INTERESTED, 0.8, "es", r"dej\w* pasar|(?:no|ya no) encaj\w*|(?:decid|opt|eleg|escog|decant|inclin)\w* (?:\S+ ){0,3}(?:por|con) (?:otr[oa]s?|la competencia|un competidor)", negatable=False),
    _cue(_OPT_OUT, 0.9, "es", rf"(?:dejen|deje|paren|pare|cesen|cese|suspendan|detengan) (?:\S+ ){{0,2}}{_ES_MAIL}", negatable=False),

    _cue(_OPT_OUT, 0.9, "zh", rf"(?:不要|别|別|勿|不用|无需|無需|不必|甭)再(?:给我|給我|向我|跟我|和我)?(?:联系|聯繫|联络|聯絡|发|發|寄|打扰|打擾|写|寫|推送){_ZH_NOT_GOODS}", negatable=False),
    _cue(_NOT_INTERESTED, 0.8, "zh", r"(?:决定|決定|选择|選擇|改|换|換)(?:了)?.{0,3}?(?:和|与|與|跟|用|找)?(?:另一家|另外一家|其他|其它|别家|別家|别的|別的)", negatable=False),
)
# fmt: on
