"""The reply-intent vocabulary: per language, the phrases that signal an intent with a weight; the
negators that cancel a phrase just before it ("do not remove me") and the thanks that make an
interest word an acknowledgement ("thanks for the quote"). Phrases are regexes over `fold`ed
text: case-folded, without diacritics, straight apostrophes, one space between words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.replies import ReplyIntent

__all__ = [
    "ALL_CUES",
    "CUES_BY_LANGUAGE",
    "Cue",
    "fold",
    "is_address_change",
    "is_instruction",
    "is_negated",
]

_INTERESTED = ReplyIntent.INTERESTED
_NOT_INTERESTED = ReplyIntent.NOT_INTERESTED
_OPT_OUT = ReplyIntent.OPT_OUT
_WRONG_PERSON = ReplyIntent.WRONG_PERSON
_NEUTRAL = ReplyIntent.NEUTRAL

_PUNCTUATION = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"',
                              "„": '"', "«": '"', "»": '"', "–": "-", "—": "-", "‐": "-",
                              "‑": "-", "。": ".", "、": ","})  # fmt: skip
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """`text` as cues match it: NFKD (full-width forms become ASCII), combining marks dropped
    (é → e), case-folded (ß → ss), typographic quotes and dashes made ASCII, blanks collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", bare.casefold()).strip()


@dataclass(frozen=True)
class Cue:
    """One phrase of the vocabulary. `phrase` is a regex over folded text, and is what a
    classification reports as its cue; `weight` in (0, 1] is how surely it alone means `intent`;
    a `negatable` phrase does not count right after a negator ("no need to unsubscribe")."""

    intent: ReplyIntent
    weight: float
    phrase: str
    language: str
    negatable: bool = True
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        source = self.phrase  # written folded already: lower case, no diacritics, "ss" for ß
        if self.language != "zh":  # Latin scripts: whole words (Chinese has no word breaks)
            source = rf"(?<![a-z0-9])(?:{source})(?![a-z0-9])"
        object.__setattr__(self, "pattern", re.compile(source))


@dataclass(frozen=True)
class _Entry:
    intent: ReplyIntent
    weight: float
    phrase: str
    negatable: bool = True


def _section(language: str, entries: Sequence[_Entry]) -> tuple[Cue, ...]:
    return tuple(
        Cue(entry.intent, entry.weight, entry.phrase, language, entry.negatable)
        for entry in entries
    )


def _opt_out(weight: float, phrase: str, *, negatable: bool = True) -> _Entry:
    return _Entry(_OPT_OUT, weight, phrase, negatable)


def _no(weight: float, phrase: str, *, negatable: bool = False) -> _Entry:
    return _Entry(_NOT_INTERESTED, weight, phrase, negatable)


def _yes(weight: float, phrase: str, *, negatable: bool = True) -> _Entry:
    return _Entry(_INTERESTED, weight, phrase, negatable)


def _wrong(weight: float, phrase: str, *, negatable: bool = False) -> _Entry:
    return _Entry(_WRONG_PERSON, weight, phrase, negatable)


def _neutral(weight: float, phrase: str, *, negatable: bool = False) -> _Entry:
    return _Entry(_NEUTRAL, weight, phrase, negatable)


# --- negation and acknowledgement ----------------------------------------------------------

#: Words that cancel a negatable phrase when they stand among the few words before it, in the
#: same clause ("please do not unsubscribe me", "nicht abmelden", "no hace falta que me den de
#: baja", "pas besoin de me désabonner", "不用退订").
_LATIN_NEGATOR = re.compile(
    r"(?<![a-z])(?:not|never|(?:do|does|did|wo|would|should|is|are|ca|could)n't|dont|doesnt|didnt"
    r"|cannot|without|no need|no reason|no point|nicht|nie|niemals|kein\w*|ohne|ne|n'|pas|jamais"
    r"|sans|aucun\w*|inutile|no|nunca|sin|jamas|tampoco)(?![a-z])"
)
_CHINESE_NEGATOR = re.compile(r"[不没沒无無别別勿未非毋甭]")
#: ... unless the negation is itself the request ("no thanks, unsubscribe"; "no more emails").
_NOT_A_NEGATION = re.compile(r"(?<![a-z])no (?:thanks?|thank you|gracias|merci|more|longer)\b")
#: Where a negation's reach ends: punctuation, "but", and words that start a new request
#: ("not interested so please remove me").
_CLAUSE_END = re.compile(
    r"[.!?;,:()\[\]\n]|\s-\s|(?<![a-z])(?:but|so|and|please|therefore|aber|und|bitte|daher"
    r"|deshalb|also|mais|et|donc|alors|merci de|pero|y|asi que|por favor|entonces)(?![a-z])"
    r"|但|所以|请|請|因此"
)
#: Interest words thanked for are not asked for ("thanks for the quote", "danke für Ihr Angebot").
_ACKNOWLEDGED = re.compile(
    r"(?<![a-z])(?:thanks?(?: you)? for|appreciate|danke fur|dank fur|merci pour|merci de votre"
    r"|gracias por|agradec\w*)(?![a-z])|(?:感谢|谢谢|謝謝)(?:您|你)?(?:的|们的|們的)?"
)
_NEGATION_WORDS = 5
_NEGATION_CHARS_ZH = 5
_ACKNOWLEDGED_WORDS = 8


def _clause_before(folded: str, start: int) -> str:
    before = folded[max(0, start - 120) : start]
    return _CLAUSE_END.split(before)[-1]


#: An opt-out word in an instruction to others is not a request: a newsletter footer under the
#: person's own signature ("If you no longer wish to receive our news, reply STOP"; "如不希望再收到，
#: 请回复“退订”"; "Si no desea recibir más comunicaciones, responda BAJA").
_CONDITIONAL = re.compile(
    r"(?<![a-z])(?:(?:if|should|in case|unless) you(?: \w+){0,4} (?:wish|want|prefer|would rather"
    r"|would like|'d like|'d rather)|to (?:unsubscribe|opt out)|(?:wenn|falls|sollten) sie(?: \S+)"
    r"{0,6} (?:wunschen|mochten|wollen|wunscht)|um sich abzumelden|si vous(?: \w+){0,3}"
    r" (?:souhaitez|voulez|desirez|preferez)|pour vous (?:desabonner|desinscrire)|si (?:usted |ud )?"
    r"(?:no |ya no )?(?:desea|quiere|prefiere|desean|quieren)|para (?:darse|dar) de baja)(?![a-z])"
    r"|(?:如|如果|若|倘若)(?:您|你|贵司)?(?:不|需|要|想|希望)"
)
_REPLY_WITH = re.compile(
    r"(?<![a-z])(?:reply|respond|answer|antworten sie|antworten|repondez|repondre|responda|responder"
    r"|conteste)(?: (?:with|mit|par|con|by|avec))?(?: (?:the word|dem wort|le mot|la palabra))?\W{0,4}$"
    r"|(?:回复|回覆|答复|发送|發送)\W{0,3}$"
)
_SENTENCE_END = re.compile(r"[.!?;\n]")
_SENTENCE_CHARS = 160


def is_instruction(folded: str, start: int, end: int) -> bool:
    """The opt-out cue at `folded[start:end]` is an instruction to others: it follows "reply"
    ("reply STOP", "回复“退订”"), or its sentence states a second-person wish starting before it
    ("if you no longer wish to receive ..., unsubscribe here"; "wenn Sie keine Newsletter mehr
    erhalten möchten, ...")."""
    before = folded[max(0, start - _SENTENCE_CHARS) : start]
    if _REPLY_WITH.search(before):
        return True
    sentence_start = start - len(_SENTENCE_END.split(before)[-1])
    after = folded[end : end + _SENTENCE_CHARS]
    sentence_end = end + len(_SENTENCE_END.split(after, maxsplit=1)[0])
    return any(
        sentence_start + match.start() < start
        for match in _CONDITIONAL.finditer(folded[sentence_start:sentence_end])
    )


#: A removal followed by a new address is an update, not an opt-out ("delete my old address
#: and use the new one", "löschen Sie die alte Adresse, die neue lautet ...").
_NEW_ADDRESS = re.compile(
    r"(?<![a-z])(?:new|updated|current|correct) (?:e-?mail )?(?:address|e-?mail|one|contact)"
    r"|(?<![a-z])neuen? (?:e-?mail-?)?adresse|(?<![a-z])die neue(?![a-z])|nouvelle (?:adresse|e-?mail)"
    r"|nuev[oa] (?:direccion|correo|e-?mail)|新(?:的)?(?:邮箱|郵箱|地址|邮件地址)"
)
_ADDRESS_CHANGE_CHARS = 120


def is_address_change(folded: str, end: int) -> bool:
    """A new address is named just after the removal that ended at `folded[end]`."""
    return bool(_NEW_ADDRESS.search(folded, end, end + _ADDRESS_CHANGE_CHARS))


def is_negated(folded: str, start: int, cue: Cue) -> bool:
    """The cue matched at `folded[start:]` does not count: a negator stands among the words before
    it in the same clause, or (an interest cue) it is only thanked for."""
    clause = _clause_before(folded, start)
    if cue.intent is _INTERESTED and _ACKNOWLEDGED.search(
        " ".join(clause.split()[-_ACKNOWLEDGED_WORDS:])
    ):
        return True
    if cue.language == "zh":
        return bool(_CHINESE_NEGATOR.search(clause[-_NEGATION_CHARS_ZH:]))
    window = " ".join(clause.split()[-_NEGATION_WORDS:])
    return bool(_LATIN_NEGATOR.search(_NOT_A_NEGATION.sub(" ", window)))


# --- en -------------------------------------------------------------------------------------

_EMAIL = r"(?:e-?mails?|mails?|messages?|newsletters?|correspondence|communications?|offers?|follow-?ups?|reminders?)"
_LIST = r"(?:mailing |e-?mail |distribution |contact |marketing |sales |your |the |this )*list"

# fmt: off
EN = _section("en", (
    _opt_out(0.97, r"unsubscrib\w*"),
    _opt_out(0.95, r"unsub(?!stan)\w*|un-?subs?c?ri\w*|unsu?s?bs?c\w*ri\w*"),
    _opt_out(0.9, r"(?:how|where) (?:did|do|have) you (?:\w+ ){0,2}(?:get|got|find|found|obtain|obtained|source|sourced|buy|bought) (?:my|our|this) (?:\w+ ){0,2}(?:address|e-?mail|details|contact\w*|data|info\w*)\W.{0,60}?(?:remove|delete|erase) (?:it|them|me|us)|(?:my|our) (?:e-?mail address|address|contact details|personal data|data)\W{1,3}(?:please |kindly )?(?:remove|delete|erase) (?:it|them)"),
    _opt_out(0.85, r"(?:^|(?<=[.!?] ))(?:so |now |just )?(?:please |pls |kindly )?(?:stop|make it stop)(?: it| this| now| already| please| pls)*[.!]*$"),
    _opt_out(0.95, r"opt(?:ed|ing)?[- ]?(?:me |us )?out"),
    _opt_out(0.95, r"remove (?:me|us|myself)(?! (?:from|off) (?:the |this |that )?(?:cc|copy|loop|thread|e-?mail chain|chain|conversation)(?![a-z]))"),
    _opt_out(0.95, r"remove (?:my|our|this|the) (?:\w+ ){0,2}(?:e-?mail|address|name|details|contact|data|info)\w*"),
    _opt_out(0.85, r"removed? from (?:your|this|any|all|the) (?:\w+ ){0,2}(?:mailing|e-?mail|distribution|contact|marketing|sales) ?(?:list|database|contacts?)\w*|removed? from (?:your|all|any) (?:lists?|database|contacts?|system|distribution)\w*"),
    _opt_out(0.95, r"take (?:me|us|my \w+(?: address)?) off(?! (?:the |this )?(?:cc|copy|loop|thread|chain)(?![a-z]))"),
    _opt_out(0.9, rf"off (?:of )?{_LIST}(?! price| prices| pricing)"),
    _opt_out(0.9, r"delete (?:me|us)|delete (?:my|our) (?:\w+ ){0,2}(?:address|data|details|contact\w*|info\w*)|delete (?:my|our) e-?mail(?: address)? from"),
    _opt_out(0.95, r"(?:stop|quit)(?:ped|ping)? (?:e-?mailing|emailing|sending|contacting|writing|spamming|messaging|mailing|bothering)", negatable=False),
    _opt_out(0.9, r"(?:get|be|taken|come) off (?:of )?(?:this|your|the|these|all) (?:\w+ )?lists?|how (?:do|can) i (?:unsubscribe|opt out|get off|stop (?:these|this|them))"),
    _opt_out(0.95, r"(?:do not|don't|dont|never|please don't) (?:ever )?(?:e-?mail|contact|write to|write|message|bother|spam|mail|reach out to) (?:me|us|again|any ?more|further|this address)|(?:do not|don't|dont|never) (?:ever )?send (?:me |us )?(?:any ?more |more |further |any |your |these )?(?:e-?mails|mails|messages|newsletters|marketing|spam|mailings|follow-?ups|reminders)|(?:do not|don't|dont|never) (?:ever )?send (?:me|us) (?:any ?more|again)(?! [a-z])", negatable=False),
    _opt_out(0.95, rf"no (?:more|further) {_EMAIL}", negatable=False),
    _opt_out(0.9, r"(?:don't|do not|dont|no longer) (?:want|wish|like|need) to (?:receive|get) (?:any |more |further |these |your |such |those |this )*(?:e-?mails|mails|messages|newsletters|marketing|offers|communications|spam|mailings)|(?:don't|do not|dont|no longer) (?:want|wish|like) to (?:hear from (?:you|your)|be contacted|be emailed|be on (?:your|the|this))", negatable=False),
    _opt_out(0.9, r"(?:not|never) (?:to )?be contacted", negatable=False),
    _opt_out(0.9, r"do[- ]not[- ](?:contact|e-?mail|mail)[- ]list|(?:dnc|suppression|opt-?out) list", negatable=False),
    _opt_out(0.9, r"(?:don't|do not|dont|no longer) (?:want|wish|like|need) to (?:receive|get) (?:any |more |further |these |your |such |those |this |unsolicited )*(?:correspondence|contact|sales pitches|pitches|solicitations?|promotions?|advertising|cold e-?mails)|(?:don't|do not|dont) (?:want|wish) (?:any |more |further )+(?:e-?mails|mails|messages|contact|correspondence)", negatable=False),
    _opt_out(0.9, r"(?:delete|erase|remove) (?:all |any )?(?:the )?(?:personal )?(?:data|information|details) (?:you (?:hold|have|store|keep) (?:on|about|of) (?:me|us)|(?:held|stored) (?:on|about) (?:me|us))|(?:delete|erase|remove) (?:all |any )?(?:of )?(?:my|the) personal (?:data|information|details)", negatable=False),
    _opt_out(0.85, r"cease (?:all |any )?(?:contact|communication|e-?mails?)"),
    _opt_out(0.9, r"cease and desist|cease (?:all |any )?(?:contact\w*|communicat\w*|e-?mail\w*|sending|writing|mailing)|enough (?:with |of )?(?:the |these |your |all (?:the|these|your) )?(?:e-?mails|mails|messages|spam|follow-?ups|e-?mailing)|erasure of (?:all )?(?:my|our) (?:personal )?(?:data|details|information|e-?mail|address|contact)|right to be forgotten", negatable=False),
    _opt_out(0.9, r"(?:asked|requested|told you)(?: (?:you|twice|already|several|many|multiple|times|repeatedly|before|previously|once|\w+ times))* to (?:be (?:removed|unsubscribed|taken off)|stop (?:e-?mailing|contacting|writing|sending|messaging))", negatable=False),
    _opt_out(0.8, r"leave (?:me|us) alone"),
    _opt_out(0.85, r"(?:never|did not|didn't) (?:sign(?:ed)? up|subscribe|opt(?:ed)? in|consent)", negatable=False),
    _opt_out(0.8, r"(?:this is|that's|it's|this is just|report(?:ed|ing)? (?:this|you|it) (?:as|to)|stop the|marking (?:this|you) as|pure|more) spam|spamming|spammer"),
    _opt_out(0.9, r"(?:right to (?:object|erasure)|erase|delete) (?:all )?(?:my|our) (?:personal )?data|gdpr (?:request|objection)", negatable=False),
    _opt_out(0.95, r"^(?:please )?(?:stop|remove|unsubscribe|opt out|remove me|stop it)(?:\W+(?:thx|thanks?|thank you|pls|please|asap|now))*\W*$"),

    _no(0.92, r"not interested|no interest|uninterested"),
    _no(0.85, r"(?:(?:are|am|is|we're|i'm|we|i) (?:currently |really |just |simply )?not|aren't|arent|isn't) (?:currently |really )?(?:looking|in the market|in need|buying|sourcing|importing|purchasing|considering|ordering)"),
    _no(0.8, r"(?:budget|spending|purchasing) (?:is |has been |was )?(?:frozen|cut|exhausted|spent|on hold)|no budget"),
    _no(0.8, r"(?:don't|do not|dont|doesn't) (?:currently |really )?(?:need|require|want|use|buy|import) (?:your|any|this|these|it|the|such|that|more|additional|new)"),
    _no(0.7, r"(?:don't|do not|dont|doesn't|does not) (?:currently |really |actually )?(?:need|require|want)"),
    _no(0.85, r"no,? thanks?(?: you)?\W*$|^no,? thanks?(?: you)?|thanks?,? but no|no thank you"),
    _no(0.8, r"no need(?! to)"),
    _no(0.85, r"(?:decided|chosen|opted|going|gone|chose|went) (?:to go |to stay |to stick )?(?:with|for) (?:another|a different|an?other|our (?:current|existing)|a local)|(?:awarded|placed) (?:it|the \w+|the order) (?:to|with) (?:another|a different)"),
    _no(0.8, r"(?:don't|do not|dont|doesn't|never) (?:import|buy|source|purchase|sell|distribute|stock|carry)\w*|not (?:something|anything) (?:we|i)(?:'d| would)? (?:buy|need|use|import|source|do)|(?:make|produce|manufacture|do) (?:our|them|it|these) (?:own |ourselves )?(?:\w+ )?in-house"),
    _no(0.75, r"(?:only|exclusively) (?:buy|source|work with|purchase|import)|contractually bound|under contract with"),
    _no(0.8, r"(?:already )?(?:have|work with|use) (?:a |an |our |my |existing |established |several |other )+(?:current |existing |reliable |regular |long-term |preferred |own )?(?:suppliers?|vendors?|partners?|sources?|manufacturers?|factory|factories)"),
    _no(0.8, r"(?:happy|satisfied|fine|content) with (?:our|the|my) (?:current |existing )?(?:suppliers?|vendors?|partners?|source|manufacturer)"),
    _no(0.8, r"not (?:a |the )?(?:good )?(?:fit|relevant|for us|of interest|what we (?:need|are looking for))|(?:doesn't|does not|don't|do not) (?:fit|match|suit) (?:our|us)"),
    _no(0.6, r"good luck"),
    _no(0.75, r"not (?:at the moment|at this time|right now|now|for now|this year)"),
    _no(0.8, r"(?:will|we'll|i'll|going to|have to|must) (?:pass|decline)(?! (?:this|it|that|your|them|along|on to))|(?:pass|passing) on this(?! (?:to|along))|(?:respectfully |politely )?decline"),
    _no(0.8, r"(?:we're|we are|i'm|i am) (?:all )?(?:set|good|covered|fine|well supplied|fully stocked)(?: (?:for now|on (?:this|that)|thanks|thank you|at the moment))?(?:[.!,]|$)|(?:source|buy|purchase|manufacture|make) (?:\w+ )?(?:locally|domestically|in-house|elsewhere|in europe)|not (?:needed|required|a priority)"),
    _no(0.8, r"no (?:plans?|requirement|demand|budget|intention) (?:to|for)"),
    _no(0.75, r"no longer (?:need|require|buy|import|purchase|use|sell)\w*"),
    _no(0.8, r"(?:don't|do not|dont) (?:currently |really )?have (?:a |any )?(?:need|use|requirement|demand|budget) for|have no (?:need|use|requirement|demand|budget) for|(?:no|little) demand (?:for (?:this|these|it|them)|in our market)"),
    _no(0.8, r"hold(?:ing)? off(?: on (?:this|it|that|for now))?|(?:have to|going to|must|need to|'ll|will|'m going to) say no|(?:say|saying) no (?:this time|for now|to this)|(?:decided|chosen|opted|elected) not to (?:pursue|proceed|go ahead|move forward|continue|take (?:this|it) further|buy|order|purchase|change|switch)|(?:timing|time) (?:isn't|is not|is not quite|isn't quite) right|not the right time|not (?:something|anything) (?:we|i)(?:'d| would| will| can)? (?:consider|want|pursue|look at|be interested in)"),
    _no(0.8, r"(?:make|produce|manufacture|build|fabricate|do) (?:\w+ ){0,3}(?:ourselves|in-house|internally)"),
    _no(0.8, r"cost-?cutting|no new (?:purchases|orders|suppliers|vendors|projects)|(?:spending|purchasing|procurement|budget) freeze|freeze on (?:purchasing|spending|new)|(?:got|have) (?:this|that|it|everything|that side|this area) covered|(?:we have|we've got|we're sitting on|we are sitting on|we still have) (?:more|enough|plenty of|sufficient|too much|a lot of) (?:stock|inventory)|overstocked"),
    _no(0.8, r"not (?:something|anything|a product|an item) (?:we|i)(?:'d| would| will| can)? (?:carry|stock|sell|deal in|offer|work with)|we (?:don't|do not|dont) (?:do|deal in|work with)(?! (?:purchasing|procurement|buying|sourcing|imports?|this|that)(?![a-z]))|(?:not|aren't|are not) (?:accepting|taking) (?:any )?new (?:supplier|vendor) (?:applications|registrations|enquiries)"),
    _no(0.8, r"(?:doesn't|does not|don't|do not) (?:really )?(?:align|fit|fall) (?:with|within|in(?:to)? line with) (?:our|us)|outside (?:of )?(?:our|the) (?:scope|range|plans)"),
    _no(0.8, r"(?:long-?standing|long-?term|established|exclusive) (?:relationship|partnership|agreement|contract|arrangement) with|(?:stay|stick|staying|sticking|remain|remaining) with (?:our|who|what|the) (?:\w+ ){0,2}(?:suppliers?|vendors?|partners?|manufacturers?|we've got|we have|current|existing|incumbent)"),
    _no(0.75, r"keep (?:you|your (?:details|info\w*|contact\w*|e-?mail|offer|company|catalog(?:ue)?|name|card)) (?:on file|on record|in (?:our|the) (?:files|records|database))|for future reference"),
    _no(0.8, r"(?:not|isn't|is not|no longer|wouldn't be|won't be) (?:really )?(?:a |an )?(?:top |high |big |current )?priorit(?:y|ies)"),
    _no(0.8, r"(?:needs|requirements|demand) (?:are|is) (?:already |fully |well )?(?:covered|met|taken care of|fulfilled|satisfied)|(?:all|fully|well) (?:set|covered|stocked|supplied) (?:for|on|with|in)"),
    _no(0.85, r"^(?:i'll |we'll |will )?pass(?:,? thanks?(?: you)?| for now| on this)?\W*$"),
    _no(0.8, r"(?:happy|satisfied|fine|content|pleased) with (?:our|the|my) (?:current |existing |present )?(?:\w+ ){0,2}(?:suppliers?|vendors?|partners?|sources?|manufacturers?|supply(?: chain)?|providers?|set-?up|arrangement|sourcing)"),
    _no(0.8, r"(?:won't|will not|not) (?:be )?(?:moving forward|proceeding|pursuing|taking (?:this|it) (?:any )?further|going ahead|making (?:any )?changes|switching|changing (?:suppliers|vendors))"),
    _no(0.8, r"not in a position to (?:take on|consider|add|change|switch|buy|order|purchase|proceed|work with|onboard|commit)|(?:not|aren't|are not) (?:taking on|onboarding|adding|accepting) (?:any )?new (?:suppliers|vendors|partners)"),

    _wrong(0.92, r"no longer (?:with|at|work(?:s|ing)? (?:for|at|with|in)|employed|part of|in charge|responsible|handl\w*|the (?:right|correct)|working)"),
    _wrong(0.92, r"(?:has|have|had) (?:left|retired from|departed)|(?:left|retired from) (?:the|our|this) (?:company|organi[sz]ation|firm|business|team)"),
    _wrong(0.85, r"(?:is|has) retired|retired (?:last|in|this)|on (?:maternity|parental) leave"),
    _wrong(0.9, r"not (?:the )?(?:right|correct|appropriate|best|relevant|responsible) (?:person|contact|one|people|addressee|department)"),
    _wrong(0.9, r"(?:wrong|incorrect) (?:person|contact|address|department|recipient|addressee|email)"),
    _wrong(0.85, r"(?:i am|i'm|we are|we're) not (?:the )?(?:responsible|in charge|the one|handling|involved|buyer|purchaser|decision[- ]maker|person who)"),
    _wrong(0.75, r"(?:you should|you'll want to|you need to|you may want to|better to|you'd better) (?:talk|speak|write|reach out|get in touch)(?: to| with)?"),
    _wrong(0.85, r"(?:not|isn't|is not|outside) (?:really )?(?:my|our) (?:area|department|responsibility|field|decision|role|remit|job)"),
    _wrong(0.85, r"(?:i|we) (?:do not|don't|dont) (?:handle|deal with|manage|work in|do) (?:purchasing|procurement|sourcing|buying|this|that|these|imports?)|(?:i'm|i am) not (?:in|part of) (?:purchasing|procurement|sourcing|buying)|(?:it's|it is) not (?:me|my call)|not me who"),
    _wrong(0.8, r"(?:i am|i'm|i work) (?:just |only |the |an? |in |at |on |from )+(?:finance|accounts?(?: payable| receivable)?|accounting|reception\w*|front desk|intern|marketing|hr|human resources|it|admin\w*|logistics|legal|temp)"),
    _wrong(0.75, r"(?:not sure|don't know|do not know|no idea) who (?:handles|is responsible|deals|takes care|looks after|is in charge|buys|does)"),
    _wrong(0.8, r"the (?:right |correct |best |relevant )?(?:contact|person) (?:for (?:this|that|\w+) )?(?:is|would be)|(?:our|the) (?:buyer|purchaser|purchasing manager|procurement manager|head of purchasing) (?:for \w+ )?is"),
    _wrong(0.75, r"(?:please )?(?:contact|reach out to|write to|e-?mail|get in touch with|speak (?:to|with)|send (?:it|this) to|direct (?:your|this) \w+ to) (?:my|our|the) (?:\w+ ){0,3}(?:colleague|department|team|manager|buyer|person|director|head|office|successor)"),
    _wrong(0.8, r"(?:my|his|her) (?:successor|replacement)|(?:has been|was) replaced"),
    _wrong(0.7, r"(?:who|person|colleague) (?:handles|is responsible for|is in charge of|takes care of) (?:purchasing|procurement|sourcing|buying|this|these|imports?)"),
    _wrong(0.7, r"this (?:mailbox|address|account|e-?mail address) is (?:no longer|not) (?:monitored|in use|active|used)"),
    _wrong(0.85, r"no longer (?:in|on) (?:the |our |that |this )?(?:\w+ )?(?:team|department|role|position|division|function)|passed away|(?:is|has) deceased"),
    _wrong(0.8, r"(?:purchasing|buying|procurement|sourcing|ordering) (?:decisions )?(?:is|are) (?:all )?(?:handled|done|made|managed|decided|centrali[sz]ed) (?:by|at|in|through|centrally)|(?:just|only) a (?:branch|subsidiary|sales office)|central(?:ised|ized)? purchasing|(?:have|has) no say in|nothing to do with (?:purchasing|procurement|sourcing|buying|suppliers)"),
    _wrong(0.75, r"(?:you'll|you will|you'd|you would) (?:need|want|have) to (?:contact|talk|speak|write|e-?mail|reach out|get in touch|try|go through)"),
    _wrong(0.8, r"(?:don't|do not|doesn't|does not) (?:make|take|have) (?:the |any )?(?:buying|purchasing|procurement|sourcing|final) (?:decisions?|calls?)|(?:would be|is) \w+(?: \w+)? (?:in|from|at|of) (?:procurement|purchasing|buying|sourcing|our purchasing)(?![a-z])|(?<!we )(?:he|she|they|has|had|have) moved on(?! to (?:another|a different|other|a new) (?:supplier|vendor|solution|product|manufacturer))|moved on (?:a (?:few|couple)|some (?:time|months|weeks)|last|earlier|recently|several)"),
    _wrong(0.85, r"(?:doesn't|does not|don't|do not) work (?:here|there|for us|with us|for (?:the|this|our) company) any ?(?:more|longer)|no longer works? (?:here|there|for us|with us)|(?:no longer|not) (?:deal|dealing|deals|involved) (?:with|in) (?:suppliers|vendors|purchasing|procurement|sourcing|buying|imports?)"),
    _wrong(0.85, r"(?:moved|switched|transferred|changed) (?:on )?(?:to |into )?(?:a )?(?:different|another|new|other) (?:role|position|department|team|job|division)|changed (?:roles|positions|jobs|departments)"),
    _wrong(0.85, r"wrong (?:guy|man|woman|girl|inbox|team)|(?:i'm|i am|we're|we are) not (?:involved|part of|the one) (?:in|with)? ?(?:purchasing|procurement|sourcing|buying|the purchasing)"),
    _wrong(0.8, r"(?:i|we) (?:handle|do|look after|manage|run|cover|am in|work in)(?: \w+){1,3}(?:,| -)? not (?:the )?(?:purchasing|procurement|buying|sourcing)"),
    _wrong(0.8, r"(?:i am|i'm|i work) (?:just |only |the |an? |in |at |on |from )+(?:engineering|sales|production|quality|customer service|operations|r&d|design|warehouse|shipping|support|maintenance)(?![a-z])"),
    _wrong(0.8, r"(?:forward|forwarding|forwarded|pass|passing|passed|send|sent) (?:this|it|your (?:e-?mail|message|offer|note)) (?:on |along )?to (?:my colleague|our (?:buyer|purchasing|procurement|buying)|\w+ \w+,? (?:who|our|the) (?:handles|runs|manages|looks after|is (?:in charge|responsible)|heads|buyer|purchasing|procurement))"),

    _yes(0.9, r"(?:send|share|provide|forward|e-?mail|quote) (?:me |us |over )?(?:your |the |a |an |some |more |full |latest |current |detailed |updated )*(?:\w+ )?(?:price ?lists?|pricelist|prices?|pricing|quotations?|quotes?|offers?|catalog(?:ue)?s?|brochures?|samples?|specs?|specifications|datasheets?|data sheets?|details|information|info|proposal)"),
    _yes(0.8, r"price ?list|pricelist|pricing|quotation|catalog(?:ue)?s?|samples?|moq|minimum order(?: quantity)?|lead times?|fob|cif|exw|incoterms?|unit price|best price|trial order|datasheets?|product specs"),
    _yes(0.7, r"quote|prices?|offer|brochure|specifications?"),
    _yes(0.85, r"(?:schedule|set up|arrange|book|have|jump on|hop on|organi[sz]e) (?:a |an )?(?:quick |short |brief |video |phone |zoom |teams )?(?:call|meeting|chat|zoom|teams|video ?call|demo|conversation)"),
    _yes(0.8, r"(?:call|phone|meet) (?:me|us)|let's (?:talk|meet|discuss|chat|connect|schedule)|(?:free|available) (?:for|to) (?:a )?(?:call|meeting|chat|talk)"),
    _yes(0.75, r"(?:phone|video|zoom|teams|conference|short|quick) call|meeting|visit (?:us|our)"),
    _yes(0.85, r"(?:very |quite |definitely |potentially |might be |may be |would be )?interested"),
    _yes(0.8, r"tell (?:me|us) more|more (?:details|information|info)|learn more|sounds (?:good|interesting|great)|(?:would|'d) (?:like|love) to (?:see|know|learn|receive|get|try|order|discuss)"),
    _yes(0.8, r"how much|what (?:is|are|would be) (?:the|your) (?:price|cost|moq|minimum|lead time|terms)"),
    _yes(0.75, r"(?:please|kindly) (?:advise|confirm|send|share|provide|quote)"),

    _neutral(0.88, r"out of (?:the )?office|(?:away|absent) from (?:the )?office|(?:on|from) (?:annual |parental |sick )?leave (?:until|till|from)|limited access to (?:my )?e-?mail|(?:upon|on|after) my return|automatic reply|auto-?reply"),
    _neutral(0.7, r"(?:forwarded|passed|passing|forwarding|will forward|forward|pass) (?:your|this|it) (?:e-?mail |message |request |on |along )*(?:on|along|internally|to)", negatable=True),
    _neutral(0.6, r"(?:will|i'll|we'll|let me|shall) (?:get back|revert|come back|review|check|look into|consider|discuss internally|think about|keep (?:it|you|this) in mind|keep your)"),
    _neutral(0.6, r"spam (?:folder|filter|box)|junk (?:folder|mail)"),
    _neutral(0.85, r"(?:add|put|include|keep|copy|cc) (?:\w+ ){0,3}(?:in|on|into) (?:the )?(?:cc|copy|loop)(?![a-z])|(?:from|off) the cc(?![a-z])"),
    _neutral(0.55, r"thank(?:s| you) for (?:your|the) (?:e-?mail|message|note|information|reaching out|follow[- ]up)"),
))
# fmt: on

# --- de -------------------------------------------------------------------------------------

_DE_EMAIL = r"(?:e-?mails?|mails?|nachrichten|werbung|werbemails?|zusendungen|newsletter|kontaktaufnahmen?|angebote|anfragen|informationen)"

# fmt: off
DE = _section("de", (
    _opt_out(0.97, r"abmeld\w*|abbestell\w*|austrag\w*"),
    _opt_out(0.95, r"(?:melden|tragen|nehmen) sie (?:mich|uns|meine [\w-]+|unsere [\w-]+)(?: (?:bitte|umgehend|sofort|doch|auch|endlich))*(?: (?:aus|von) (?:ihrem|ihrer|ihren|dem|der|den|eurem|eurer|allen) (?:\w+ )?[\w-]+)? (?:aus|ab|raus|heraus)"),
    _opt_out(0.9, r"(?:streichen|loschen|entfernen) sie (?:bitte )?(?:mich|uns|meine|unsere)|(?:meine|unsere) (?:[\w-]+ )?(?:adresse|daten|kontaktdaten|e-?mail-?adresse)\w* (?:bitte )?(?:\w+ )?(?:loschen|entfernen|streichen)"),
    _opt_out(0.75, r"(?:aus|von) (?:ihrem|ihrer|ihren|dem|der|eurem|eurer) (?:\w+ )?(?:verteiler|e-?mail-?verteiler|mailingliste|mailing-liste|newsletter|adressliste|kontaktliste|datenbank|kartei)\w*|(?:aus|von) (?:ihrer|eurer) liste"),
    _opt_out(0.95, rf"(?:keine|keinerlei) (?:e-?mails?|mails?|werbung|werbemails?|newsletter|zusendungen|spam)|(?:keine|keinerlei) (?:weiteren|weitere|neuen) {_DE_EMAIL}|keine {_DE_EMAIL} mehr", negatable=False),
    _opt_out(0.95, rf"kein(?:e|en)? interesse an (?:weiteren |weitere |ihren |kunftigen )?{_DE_EMAIL}", negatable=False),
    _opt_out(0.95, r"nicht mehr (?:\w+ ){0,2}(?:kontaktier|anschreib|schreib|mail|zusend|belastig|send|schick|anruf|informier|erhalt|bekomm)\w*", negatable=False),
    _opt_out(0.95, r"(?:schreiben|kontaktieren|mailen|anschreiben|belastigen|senden|schicken)\w* sie (?:mir|mich|uns) (?:bitte )?(?:nicht mehr|keine)", negatable=False),
    _opt_out(0.95, r"(?:horen|hort|hor) (?:sie |ihr )?(?:\w+ ){0,2}auf,? (?:\w+ ){0,3}(?:zu )?(?:schreiben|kontaktieren|mailen|anzuschreiben|belastigen|senden|schicken|zuzusenden)|aufhoren,? (?:\w+ ){0,3}(?:zu )?(?:schreiben|mailen|senden)", negatable=False),
    _opt_out(0.85, r"widerspr\w*|unerwunscht\w*|unaufgefordert\w*|ohne (?:meine|unsere) (?:einwilligung|zustimmung)|keine (?:einwilligung|zustimmung)|unterlassen sie|unterlassung\w*", negatable=False),
    _opt_out(0.8, r"(?:ist|sind|das ist|reiner|purer) spam|spammen|spammer"),
    _opt_out(0.9, r"verbitte\w*|widerruf\w* (?:\w+ ){0,3}(?:einwilligung|zustimmung|einverstandnis)|schluss mit (?:den |diesen |ihren |der |dem )?(?:\w+ )?(?:mails|e-?mails|nachrichten|werbung|spam|zusendungen|newsletter)|nichts mehr (?:\w+ ){0,2}(?:zu )?(?:schicken|senden|zusenden|zuschicken|mailen|schreiben)|(?:schicken|senden|mailen|schreiben) sie (?:mir|uns) (?:bitte )?nichts mehr|lass(?:en sie|t)? (?:mich|uns) (?:bitte |endlich |doch )?in ruhe(?=\W*$|[.!,;])", negatable=False),
    _opt_out(0.9, r"loschung (?:meiner|unserer|der|aller) (?:\w+ )?(?:daten|adressen?|e-?mail-?adressen?|kontaktdaten)"),
    _opt_out(0.9, r"(?:woher|wie (?:kommen|sind|gelangen) sie an) (?:\w+ ){0,4}(?:adresse|e-?mail\w*|daten|kontakt\w*)\W.{0,60}?(?:loschen|entfernen|streichen|austragen)", negatable=False),
    _opt_out(0.95, rf"(?:schicken|senden|schreiben) sie (?:mir|uns) (?:bitte )?keine (?:\w+ )?{_DE_EMAIL} mehr", negatable=False),
    _opt_out(0.95, r"^(?:stop|abmelden|austragen|bitte abmelden|bitte austragen)\W*$"),

    _no(0.92, r"kein(?:e|en)? (?:interesse|bedarf)|nicht interessiert|interessiert (?:uns|mich) (?:derzeit |aktuell |leider )?nicht"),
    _no(0.85, r"(?:haben|benotigen|brauchen|suchen) (?:derzeit |aktuell |momentan |zur zeit |leider |im moment )*(?:keinen|keine|kein|nichts)(?![a-z])"),
    _no(0.8, r"(?:haben|besitzen) (?:bereits|schon) (?:\w+ )?(?:lieferanten|zulieferer|partner|bezugsquellen?|hersteller|anbieter)"),
    _no(0.85, r"nein,? danke|danke,? (?:aber )?nein|kommt (?:\w+ ){0,3}nicht in frage|(?:zur zeit|derzeit|momentan|aktuell|im moment) (?:leider )?nicht"),
    _no(0.85, r"(?:fur|mit) (?:einem|einen) anderen (?:\w+ )?(?:hersteller|lieferanten|anbieter|partner)|(?:anderweitig|bereits) (?:entschieden|vergeben|versorgt|eingedeckt)|vertraglich gebunden"),
    _no(0.8, r"(?:importieren|kaufen|beziehen|vertreiben|fuhren|verwenden|nutzen) (?:\w+ ){0,3}(?:nicht|keine)(?![a-z])|passt (?:\w+ ){0,2}nicht|(?:ausschliesslich|nur) (?:von|bei|aus) (?:\w+ ){0,3}(?:herstellern|lieferanten|anbietern)"),
    _no(0.75, r"kein(?:e|en)? (?:anfrage|projekt|verwendung|budget)|nichts fur (?:uns|mich)"),
    _no(0.85, r"(?:sind|bin) (?:\w+ ){0,2}(?:gut|bestens|ausreichend|bereits|schon|versorgt|eingedeckt)(?: (?:versorgt|eingedeckt|aufgestellt))?(?![a-z])|(?:wir|ich) verzichten?(?: (?:dankend|gerne|diesmal|daher|lieber))?(?=[.!,;]|$)|verzichten dankend|nicht (?:notwendig|notig|benotigt|erforderlich)|nicht wechseln"),
    _no(0.8, r"(?:mit|bei) (?:einem|unserem|unseren|festen|langjahrigen|bestehenden) (?:\w+ )?(?:lieferanten|zulieferern?|partnern?|herstellern?|anbietern?)"),
    _no(0.6, r"(?:trotzdem|dennoch) (?:danke|vielen dank|viel erfolg)|(?:wunschen|wunsche) ihnen (?:dennoch |trotzdem )?viel erfolg"),
    _no(0.8, r"(?:brauchen|benotigen) (?:wir|ich) (?:derzeit |aktuell |momentan |leider |zurzeit )*nicht(?![a-z])|nicht (?:mehr )?aktuell|budget\w* (?:ist |sind )?(?:ausgeschopft|erschopft|eingefroren|gestrichen|aufgebraucht)|budgetgrunden|aus kostengrunden"),
    _no(0.8, r"(?:stellen|produzieren|fertigen) (?:\w+ ){0,3}selbst|selbst (?:her|herstellen|produzieren|fertigen)|(?:eigene|eigener) (?:produktion|fertigung|herstellung)"),
    _no(0.85, r"^(?:leider |danke,? )?nein(?:,? (?:danke|leider))?\W*$|leider nein"),
    _no(0.85, r"bedarf (?:ist |sind )?(?:\w+ ){0,3}(?:gedeckt|abgedeckt)|nicht (?:weiter )?(?:verfolgen|weiterverfolgen)|abstand nehmen|sehen (?:davon )?ab"),
    _no(0.8, r"(?:fur uns|fur mich|bei uns) (?:\w+ ){0,2}(?:kein thema|nicht relevant|nicht von interesse|uninteressant)|(?:kein thema|nicht relevant|nicht von interesse) fur (?:uns|mich)"),
    _no(0.8, r"(?:ausschliesslich|nur) (?:aus|in|von|bei) (?:der |dem )?(?:europa|deutschland|osterreich|der schweiz|eu|region|inland|heimischen|lokalen|regionalen|europaischen|deutschen)\w*|(?:lokal|regional|im inland) (?:ein|beschaffen|beziehen|einkaufen|produzieren)\w*"),
    _no(0.75, r"(?:falls|wenn|sobald|sollte) (?:sich )?(?:\w+ ){0,2}bedarf (?:\w+ )?(?:ergibt|ergeben|besteht|bestehen|entsteht|aufkommt|haben)|bei (?:kunftigem |eventuellem )?bedarf (?:melden|kommen) (?:wir|uns)|in evidenz|zu den akten"),

    _wrong(0.92, r"nicht mehr (?:\w+ ){0,3}(?:im unternehmen|bei uns|in der firma|fur (?:uns|die firma)|tatig|beschaftigt|zustandig|verantwortlich|dabei)|(?:arbeitet|arbeite|ist) nicht mehr (?:hier|bei|fur|in|im)"),
    _wrong(0.92, r"(?:hat|habe|haben) (?:das unternehmen|die firma|uns|unser haus) (?:\S+ ){0,3}verlassen|ausgeschieden|im ruhestand|in (?:den )?ruhestand|in (?:pension|rente)|pensioniert|in ruhestand"),
    _wrong(0.7, r"in (?:elternzeit|mutterschutz|karenz)"),
    _wrong(0.9, r"nicht (?:der|die|den) (?:richtige|zustandige|richtigen|zustandigen)(?: (?:ansprechpartner\w*|person|kontakt|adressat)| ?(?=[,.;!]| dafur| hierfur))|falsche(?:r|n)? (?:ansprechpartner\w*|adressat|person|empfanger|abteilung)"),
    _wrong(0.85, r"nicht zustandig|nicht (?:mein|unser) (?:bereich|aufgabengebiet|ressort)|nicht (?:im|in der|fur den|fur die) (?:einkauf|beschaffung|materialwirtschaft)|nicht ich,? sondern"),
    _wrong(0.85, r"(?:zustandig|verantwortlich) (?:fur (?:\w+ ){1,3})?(?:ist|sind)|ist bei uns (?:\w+ ){0,4}zustandig|das macht bei uns|(?:der|die) richtige (?:ansprechpartner\w*|kontakt) (?:ist|ware)"),
    _wrong(0.8, r"ich (?:bin|arbeite) (?:hier |bei uns )?(?:nur |in der |im |am |die |der |als )+(?:empfang|buchhaltung|marketing|praktikant\w*|aushilfe|personalabteilung|verwaltung|zentrale|telefonzentrale|vertrieb|it|logistik|produktion)"),
    _wrong(0.8, r"(?:einkauf|beschaffung|das|den einkauf|die beschaffung) (?:macht|ubernimmt|betreut|verantwortet|entscheidet|entscheiden|regelt|erledigt) (?:bei uns )?(?:herr|frau|mein|meine|unser|unsere|der|die)"),
    _wrong(0.75, r"(?:weiss|weis) (?:ich )?nicht,? wer (?:\w+ ){0,3}(?:zustandig|verantwortlich)"),
    _wrong(0.75, r"wenden sie sich (?:\w+ ){0,2}an|(?:mein|meine|unser|unsere) (?:kollege|kollegin|nachfolger\w*)|nachfolger\w*"),
    _wrong(0.85, r"(?:in einer|in eine|in die|in den) (?:anderen?|neuen?) (?:abteilung|position|funktion|rolle|bereich|team|stelle)|(?:abteilung|position|funktion|bereich|stelle) gewechselt|(?:adresse|postfach|mailbox|konto) (?:\w+ ){0,2}(?:nicht mehr|wird nicht mehr) (?:aktiv|betreut|genutzt|verwendet|gelesen|abgerufen|besetzt)"),
    _wrong(0.85, r"(?:dafur|hierfur|fur (?:den einkauf|die beschaffung|einkauf|beschaffung)) (?:ist|sind) (?:\w+ ){1,5}zustandig|zentraleinkauf|zentraler einkauf|(?:einkauf|beschaffung) (?:erfolgt|lauft|wird) (?:\w+ ){0,3}(?:zentral|uber (?:die|unsere|unseren|den) (?:zentrale|konzern|mutter))|(?:habe|haben|hab) (?:mit|auf) (?:dem |der |den )?(?:\w+ )?(?:einkauf|beschaffung|bestellungen|lieferanten\w*) (?:\w+ )?nichts zu tun|keinen einfluss auf (?:den |die )?(?:einkauf|beschaffung)"),

    _yes(0.9, r"(?:senden|schicken|ubermitteln|mailen|geben) sie (?:mir|uns) (?:bitte |gerne |doch )*(?:\w+ ){0,3}(?:angebot|preisliste|preise|muster|katalog|unterlagen|informationen|datenblatt|details|proben)\w*"),
    _yes(0.8, r"angebot\w*|preisliste\w*|preisangebot|muster\w*|katalog\w*|mindestbestellmenge|mindestabnahme\w*|lieferzeit\w*|datenblatt\w*|probebestellung|proben?|moq"),
    _yes(0.7, r"preis(?:e|en)?|kosten|konditionen"),
    _yes(0.85, r"(?:sehr |durchaus |grundsatzlich |schon )?interess(?:iert|e|ant)\w*"),
    _yes(0.8, r"telefon(?:at|termin|gesprach|isch|ier)\w*|termin\w*|ruckruf|rufen sie (?:mich|uns) (?:\w+ ){0,3}an|anrufen|(?:video)?call|besprechung|treffen|videokonferenz|teams|zoom"),
    _yes(0.8, r"klingt (?:interessant|gut|spannend)|mehr (?:informationen|infos|details)|wie viel kostet|was kostet|gerne mehr"),
    _yes(0.8, r"anbieten|bieten sie (?:mir|uns) (?:\w+ ){0,4}an"),

    _neutral(0.9, r"in (?:elternzeit|mutterschutz|karenz|urlaub|krankenstand) bis|bis (?:\S+ ){1,3}in (?:elternzeit|mutterschutz|karenz)|wieder erreichbar|wieder im (?:buro|haus)|ab (?:dem )?\S+ wieder (?:da|erreichbar|im)|in dringenden fallen"),
    _neutral(0.88, r"nicht im (?:buro|hause|haus)|abwesenheit\w*|(?:bin|sind) (?:\w+ ){0,4}abwesend|keinen zugriff auf (?:meine )?(?:e-?mails|e-?mail|mails)|(?:im|in) urlaub|automatische antwort"),
    _neutral(0.7, r"(?:habe|haben|wird|werde) (?:\S+ ){0,3}weitergeleitet|leite (?:\w+ ){0,3}weiter|weiterleiten", negatable=True),
    _neutral(0.6, r"(?:melde|melden) (?:mich|uns) (?:\w+ ){0,3}(?:zuruck|wieder|bei ihnen)|(?:prufen|besprechen) (?:das|dies|es) (?:\w+ )?intern|schaue (?:mir )?(?:das|es) an"),
    _neutral(0.6, r"spam-?ordner|spam-?filter|junk-?ordner"),
    _neutral(0.55, r"danke fur (?:ihre|die) (?:e-?mail|nachricht|info\w*)"),
))
# fmt: on

# --- fr -------------------------------------------------------------------------------------

_FR_EMAIL = r"(?:e-?mails?|mails?|courriels?|messages?|sollicitations?|newsletters?|offres?|relances?|propositions?)"
_FR_MAIL = r"(?:e-?mails?|mails?|courriels?|newsletters?|sollicitations?|relances?|spams?)"

# fmt: off
FR = _section("fr", (
    _opt_out(0.97, r"desabonn\w*|desinscri\w*|desinscrip\w*"),
    _opt_out(0.95, r"(?:retirez|supprimez|enlevez|effacez|rayez|sortez)[- ](?:moi|nous)|(?:me|nous) (?:retirer|supprimer|enlever|effacer|rayer|sortir|desinscrire|desabonner)"),
    _opt_out(0.9, r"(?:retirer|supprimer|enlever|effacer|rayer|retirez|supprimez|enlevez|effacez) (?:mon|ma|mes|notre|nos|cette) (?:\w+ ){0,2}(?:adresse|e-?mail|courriel|coordonnees|contact|nom|donnees)\w*"),
    _opt_out(0.8, r"(?:de|d'une|de la|de vos|de votre|de toute) (?:\w+ ){0,1}(?:liste de diffusion|liste d'envoi|listes? de contacts?|mailing ?list|fichier clients?|base de donnees|liste(?! de prix| des prix| tarifaire| de produits))"),
    _opt_out(0.95, r"ne (?:plus|jamais) (?:me |m'|nous )?(?:\w+ )?(?:contacter|recontacter|ecrire|envoyer|recevoir|solliciter|relancer|adresser)", negatable=False),
    _opt_out(0.95, r"ne (?:me |m'|nous )(?:\w+ )?(?:contactez|recontactez|ecrivez|envoyez|sollicitez|relancez|adressez) plus", negatable=False),
    _opt_out(0.95, r"(?:arretez|cessez|arreter|cesser) (?:de |d')?(?:m'|me |nous )?(?:envoyer|ecrire|contacter|solliciter|spammer|relancer)", negatable=False),
    _opt_out(0.9, rf"(?:plus|pas|aucun|aucune) (?:de |d')?(?:autres? )?{_FR_MAIL}|(?:plus|aucun|aucune) (?:de |d')?(?:autres? )?{_FR_EMAIL}(?! pour| afin)", negatable=False),
    _opt_out(0.85, r"ne (?:souhaite|veux|desire|souhaitons|voulons) (?:plus|pas) (?:recevoir|etre (?:contacte|sollicite|relance)\w*)", negatable=False),
    _opt_out(0.9, r"droit d'opposition|(?:supprimer|effacer|supprimez|effacez) (?:toutes )?mes donnees", negatable=False),
    _opt_out(0.8, r"(?:c'est du|est du|du pur|encore du) spam|pourriel\w*|spammer|harcelement"),
    _opt_out(0.9, r"refus(?:e|ons) (?:de )?recevoir (?:vos |ces |des |les |de tels |ce genre de )?(?:\w+ )?(?:mails|e-?mails|messages|courriels|sollicitations|newsletters|publicites|pubs|offres commerciales)|(?:ne (?:veux|voulons|souhaite|souhaitons) plus|plus jamais) entendre parler de vous|(?:jamais (?:donne )?(?:mon|notre) (?:accord|consentement)|(?:n'ai|n'avons) (?:\w+ )?(?:jamais|pas) (?:donne|accorde|consenti)\w*)(?: \w+){0,3} (?:pour |a )?(?:recevoir|etre contacte|vos (?:mails|e-?mails|messages|courriels|envois)|ces (?:mails|e-?mails|messages|courriels|envois)|l'envoi|la prospection)|ne plus (?:utiliser|ecrire a) (?:cette|mon|notre) (?:adresse|e-?mail|courriel)", negatable=False),
    _opt_out(0.9, r"(?:cessez|cesser|arretez|arreter|stoppez|stopper) (?:tout |tous |toute |toutes |vos |ces |les )(?:envois?|mails|e-?mails|messages|courriels|sollicitations|relances|communications|contacts?)|lachez-(?:moi|nous)|fichez-(?:moi|nous) la paix|laissez-(?:moi|nous) tranquilles?|(?:m'oppose|nous opposons|opposition) (?:a|au|a la) (?:\w+ ){0,2}(?:traitement|utilisation|usage|prospection)", negatable=False),
    _opt_out(0.85, r"(?:^|(?<=[.!?,] ))(?:svp |alors |donc |maintenant )?(?:arretez|stop|cessez|stoppez)(?: svp| maintenant| merci| donc| tout de suite| immediatement| s'il vous plait)*[.!]*$", negatable=False),
    _opt_out(0.9, r"stop (?:aux|au|a vos|a ces|a|les|vos) (?:\w+ )?(?:mails|e-?mails|messages|spams?|envois|sollicitations|pubs?|publicites|relances|courriels)|^(?:stop|desabonnement|desinscription)(?: svp| merci| s'il vous plait)*\W*$", negatable=False),
    _opt_out(0.9, r"(?:ou|comment) (?:avez-vous|vous avez|as-tu) (?:\w+ ){0,3}(?:mon|mes|notre|nos) (?:adresse|e-?mail|courriel|coordonnees|contact|donnees)\w*\W.{0,60}?(?:supprim|effac|retir|enlev|ray)\w*|(?:mon|notre) (?:adresse|e-?mail|courriel)\W.{0,60}?(?:supprimez|effacez|retirez|enlevez)-la", negatable=False),
    _opt_out(0.95, r"^(?:stop|desabonnement|desinscription)\W*$"),

    _no(0.92, r"pas interess\w*|ne (?:sommes|suis|serons|serions) pas (?:interess|concerne)\w*|aucun interet|pas d'interet|n'est pas (?:interessant|pertinent|d'actualite)|ne nous interesse pas|ne m'interesse pas"),
    _no(0.85, r"(?:n'avons|n'ai|n'aurons) (?:\w+ )?(?:pas|aucun|plus) (?:de |d')?(?:besoin|projet|interet)|(?:pas (?:de )?|aucun )besoin(?! de (?:me|m'|nous|vous) ?)"),
    _no(0.8, r"(?:avons|ai) (?:deja|nos|notre|un|des) (?:\w+ ){0,2}(?:fournisseurs?|partenaires?|prestataires?|fabricants?)"),
    _no(0.85, r"non,? merci|merci,? (?:mais )?non|pas pour (?:le moment|l'instant|nous)|pas (?:actuellement|en ce moment|pour l'heure)|ne donnerons pas suite|pas donner suite"),
    _no(0.85, r"(?:retenu|choisi|opte pour|prefere) (?:un |une )?(?:autre|d'autres) (?:\w+ )?(?:fournisseur|prestataire|fabricant|partenaire|offre|solution)\w*|(?:garder|conserver|rester avec) (?:notre|nos) (?:\w+ )?(?:fournisseur|prestataire)\w*"),
    _no(0.8, r"n'(?:importons|achetons|utilisons|distribuons|vendons|travaillons)\w* (?:\w+ ){0,2}pas|ne (?:distribuons|vendons|fabriquons|commercialisons|achetons|importons|utilisons|travaillons) (?:\w+ ){0,2}pas|(?:uniquement|exclusivement) (?:aupres de|avec|de) (?:fournisseurs|fabricants|producteurs)"),
    _no(0.75, r"pas (?:l')?utilite|aucune utilite|pas (?:dans )?(?:nos|une) priorit\w*|pas prioritaire"),
    _no(0.6, r"bonne continuation|(?:nous )?vous souhaitons (?:bonne|beaucoup de) (?:chance|succes|reussite)"),
    _no(0.8, r"pas (?:l'intention|prevu|envisage) de (?:changer|modifier|remplacer|commander|acheter)|ne prevoyons (?:pas|aucun)\w*|n'envisageons (?:pas|aucun)\w*|(?:ne )?changerons pas de (?:fournisseur|prestataire)"),
    _no(0.8, r"(?:fabriquons|produisons|faisons|realisons|concevons) (?:\w+ )?(?:nous-memes|en interne)|(?:production|fabrication) (?:interne|maison)"),
    _no(0.8, r"(?:satisfaits?|contents?) (?:de|avec) (?:notre|nos) (?:\w+ )?(?:fournisseur|prestataire|partenaire|fabricant)\w*|(?:rentre|entre) pas dans (?:notre|nos|le) budget|hors budget|passons (?:notre|ce) tour|passe mon tour|passer (?:notre|mon) tour"),
    _no(0.8, r"(?:gardons|garderons|conservons|conserverons|garder|conserver) (?:precieusement )?(?:votre|vos) (?:contact|coordonnees|offre|documentation|proposition|brochure|adresse)\w* (?:pour|en|sous le coude|dans nos)|(?:le |au )?cas (?:ou|echeant) (?:un |le )?besoin (?:se presente|se manifeste|apparait)"),
    _no(0.8, r"budget(?: \w+)? (?:est |sont |a ete )?(?:gele|bloque|epuise|consomme|reduit|fige|boucle|atteint|utilise)\w*|pas de budget|aucun budget|(?:ne sommes|ne suis) pas (?:demandeurs?|acheteurs?|preneurs?)"),
    _no(0.85, r"ne (?:correspond|correspondent|repond|repondent|convient|conviennent) pas|ne (?:nous )?concerne pas"),
    _no(0.85, r"(?:avons|ai) (?:deja )?(?:tout )?ce qu'il (?:nous|me) faut|(?:pas|plus) (?:y )?(?:donner|reserver) (?:de |une )?suite|donnerons pas suite|sans suite|sans facon|(?:on est|sommes|suis) (?:bien |deja |tres bien |largement )*(?:equipe|approvisionne|fourni|couvert|servi|pourvu)s?(?![a-z])"),
    _no(0.8, r"(?:approvisionnons|fournissons|achetons) (?:\w+ ){0,2}(?:exclusivement|uniquement|seulement|localement)|fournisseurs? (?:locaux|local|francais|europeens|nationaux)|(?:ne fait|ne font|n'entre|n'entrent) pas (?:partie )?(?:de|dans) (?:notre|nos) (?:gamme|assortiment|activite|metier|offre|catalogue)|ne (?:recherchons|cherchons|prospectons) pas|(?:pas|aucun) (?:de )?nouveaux? fournisseurs?"),
    _no(0.8, r"(?:travaillons|travaille) (?:deja |depuis \S+ \S+ )?avec (?:un|une|des|nos|notre|plusieurs) (?:\w+ )?(?:fournisseur|partenaire|prestataire|fabricant)\w*|pas preneurs?|(?:nous )?declinons|decliner (?:votre|cette)|sommes (?:bien |deja )?(?:equipes|approvisionnes|fournis|couverts)"),

    _wrong(0.92, r"ne (?:fait|fais|travaille|suis|est) plus (?:\w+ ){0,2}(?:partie|dans|pour|chez|au sein|en charge|responsable|employe)\w*"),
    _wrong(0.92, r"(?:a|avons|ai) quitte (?:la|l'|notre|nos|le) ?(?:societe|entreprise|groupe|maison|equipe|poste)?|(?:est|suis) (?:parti|partie) (?:de|a la)|(?:a la|en) retraite"),
    _wrong(0.7, r"en conge (?:maternite|parental)"),
    _wrong(0.9, r"ne (?:gere|gerons|m'occupe|nous occupons|traite|suis) plus (?:de )?(?:ce|cette|ces|du|des|le|la|les)"),
    _wrong(0.9, r"pas (?:la|le) (?:bonne|bon) (?:personne|interlocut\w*|contact|destinataire|service)|mauvais(?:e)? (?:personne|interlocut\w*|contact|destinataire|adresse)|trompes? (?:de|d') ?(?:personne|interlocut\w*|contact|destinataire|adresse|service)"),
    _wrong(0.85, r"(?:ne (?:suis|sommes)|n'est) pas (?:en charge|responsable|concerne\w*|la personne)|pas (?:de mon|dans mon|de notre) (?:ressort|domaine|perimetre)|n'est pas (?:mon|notre) (?:service|domaine|ressort|rayon|secteur|metier)"),
    _wrong(0.8, r"je suis (?:seulement |juste |simplement )?(?:a la |au |en |le |la |l'|un |une |au service |dans le service )?(?:stagiaire|comptabilite|compta|accueil|standard|rh|informatique|secretariat|alternant\w*|interim\w*|marketing|juridique|logistique)"),
    _wrong(0.85, r"(?:ce n'est|c'est) pas moi qui (?:gere|s'occupe|traite|decide|suis)|ne (?:suis|sommes) pas (?:aux|dans les|au service des) achats"),
    _wrong(0.75, r"(?:je ne sais pas|j'ignore|aucune idee de) qui (?:gere|s'occupe|est en charge|est responsable|traite)"),
    _wrong(0.85, r"(?:service|departement|pole) (?:des )?achats (?:est|se trouve|se situe) (?:\w+ ){0,3}(?:siege|maison mere|groupe|centrale)|(?:achats|approvisionnements?) (?:sont )?(?:centralises|geres) (?:par|au|a)|erreur de (?:destinataire|personne|contact|service|interlocuteur|adresse)|je travaille (?:a la|au|en|dans le service|au service) (?:comptabilite|compta|accueil|logistique|production|marketing|rh|informatique|juridique|qualite)|(?:a|ai) change (?:de poste|de service|de fonction|de societe|d'entreprise|de departement)|(?:a|ai) ete mute\w*"),
    _wrong(0.9, r"n'(?:est|etes|es) plus (?:chez|avec nous|dans (?:l'entreprise|la societe|nos effectifs|l'equipe|le service|ce service)|parmi nous|en poste|salarie|au sein|en charge|responsable)"),
    _wrong(0.8, r"(?:(?<=, )|(?<= et ))pas (?:des|aux|les|de la|du service des?) (?:achats|approvisionnements)|(?:adresse|boite|messagerie)\w* (?:\w+ )?(?:n'est plus|ne sera plus|plus) (?:consultee|active|utilisee|suivie|lue|relevee)"),
    _wrong(0.85, r"ne (?:m'occupe|m'occupons|gere|gerons|traite|suis) pas (?:des|de|du|de la|en charge des) (?:\w+ )?(?:achats?|approvisionnement\w*|commandes|fournisseurs|sujet|dossier)"),
    _wrong(0.75, r"(?:voyez|voir|adressez-vous|rapprochez-vous) (?:plutot )?(?:avec|de|aupres de) (?:m\.|mme|monsieur|madame|mon|ma|notre|nos|le|la)"),
    _wrong(0.8, r"(?:le|la) (?:bon |bonne )?(?:contact|interlocut\w*|personne|responsable) (?:pour (?:\w+ ){1,3})?(?:est|serait)"),
    _wrong(0.75, r"(?:contacter|contactez|adressez-vous a|adresser a|ecrire a|ecrivez a|joindre|s'adresser a) (?:\w+ )?(?:mon|ma|notre|nos|le|la) (?:\w+ ){0,2}(?:collegue|service|responsable|acheteur|direct\w*|successeur)|mon collegue|ma collegue|mon successeur|remplace\w*|successeur"),

    _yes(0.9, r"(?:envoyer|envoyez|transmettre|transmettez|faire parvenir|communiquer|adresser|adressez)[- ](?:moi |nous |-moi |-nous )?(?:votre |vos |le |la |les |un |une |des |l'|plus |de |d')*(?:\w+ )?(?:tarifs?|prix|devis|catalogue|echantillons?|offre|brochure|fiches? techniques?|liste de prix|documentation|grille tarifaire|conditions|details|informations|renseignements|infos|proposition)"),
    _yes(0.8, r"devis|tarif\w*|echantillon\w*|catalogue\w*|liste de prix|grille tarifaire|quantite minim\w*|commande minim\w*|moq|fiches? techniques?|delai de livraison|commande d'essai"),
    _yes(0.7, r"prix|offre|documentation|cotation"),
    _yes(0.85, r"(?:proposition|offre) chiffree|chiffrage"),
    _yes(0.85, r"(?:tres |vivement |plutot )?interess\w*"),
    _yes(0.8, r"rendez-vous|rdv|appel|reunion|visio\w*|telephon\w*|appelez-(?:moi|nous)|en discuter|echanger|rencontr\w*"),
    _yes(0.8, r"combien|quel est (?:le|votre) prix|quels sont (?:vos|les) (?:prix|tarifs|delais)|plus (?:de |d')(?:informations|details|renseignements)|en savoir plus"),

    _neutral(0.88, r"absente? (?:du bureau|jusqu)|(?:suis|serai) absente?|en conges?|a mon retour|reponse automatique|message automatique d'absence"),
    _neutral(0.7, r"(?:ai|avons) (?:transmis|transfere|fait suivre)|je (?:transmets|transfere|fais suivre)|transmis (?:a|en interne)|transfere (?:a|en interne)|en interne", negatable=True),
    _neutral(0.6, r"(?:reviendrai|reviendrons|revenons|reviens) vers vous|(?:etudier|regarder|examiner) (?:cela|ca|votre)"),
    _neutral(0.8, r"(?:vais|allons|va|dois|devons|voudrais) (?:\w+ )?(?:voir|verifier|regarder|en parler|en discuter|consulter) (?:avec|en interne|aupres)"),
    _neutral(0.6, r"(?:dossier|courrier|boite) (?:des )?(?:spams?|indesirables)|(?:dans|en) (?:les )?spams?"),
    _neutral(0.85, r"en copie(?![a-z])"),
))
# fmt: on

# --- es -------------------------------------------------------------------------------------

_ES_EMAIL = r"(?:correos?|e-?mails?|mails?|mensajes?|comunicaciones|newsletters?|ofertas|promociones|publicidad)"

# fmt: off
ES = _section("es", (
    _opt_out(0.97, r"(?:dar|darme|darnos|den|denme|dennos|dame|deme|darse|doy|demos|de de|procedan? a dar(?:me|nos)?)(?: de)? baja|(?:solicito|pido|solicitamos|pedimos|quiero|queremos|tramiten|procesen|gestionen|tramitar) (?:la |mi |nuestra )?baja"),
    _opt_out(0.9, r"baja (?:de|del) (?:su |la |esta |vuestra )?(?:lista|base|registro|suscripcion|boletin|mailing)"),
    _opt_out(0.97, r"(?:cancelar|anular|cancelen|anulen) (?:la |mi |nuestra )?suscripcion|desuscrib\w*|desuscri\w*|desinscrib\w*"),
    _opt_out(0.95, r"no (?:me |nos )?(?:vuelvan?|vuelva|volver) a (?:escribir|contactar|enviar|mandar|molestar)\w*", negatable=False),
    _opt_out(0.95, r"no (?:me |nos )?(?:envien|envie|manden|mande|escriban|escriba|contacten|contacte|sigan|siga)\w* (?:\w+ ){0,3}(?:mas(?! tarde| adelante| de| que)|nunca)", negatable=False),
    _opt_out(0.85, r"no (?:me |nos )(?:escriban|contacten|escriba|contacte|molesten|moleste)\w*", negatable=False),
    _opt_out(0.95, r"ya no (?:me |nos )?(?:envi|mand|escrib|contact)\w*", negatable=False),
    _opt_out(0.95, r"(?:eliminen|eliminar|borren|borrar|quiten|quitar|saquen|sacar|retiren|retirar|supriman|suprimir|excluyan|excluir)(?:me|nos)?\w* (?:\w+ ){0,4}(?:de su|de la|de sus|del|de vuestra|de esta) (?:\w+ )?(?:lista|base de datos|listado|registro|envios|mailing|agenda|contactos)"),
    _opt_out(0.9, r"(?:elimin|borr|quit|suprim|exclu)[a-z]*(?:me|nos)|(?:retir|saqu)(?:en|e)(?:me|nos)"),
    _opt_out(0.95, r"(?:dejen|deje|dejar|parar|paren|pare) de (?:enviar|escribir|contactar|mandar|recibir|molestar)\w*", negatable=False),
    _opt_out(0.95, rf"no (?:deseo|deseamos|quiero|queremos) (?:seguir )?(?:recibir|recibiendo|que me (?:escriban|contacten|envien))|no mas {_ES_EMAIL}", negatable=False),
    _opt_out(0.95, r"(?:se )?abstenga\w* de (?:enviar|contactar|escribir)\w*|derechos? de (?:oposicion|supresion)|(?:elimine|eliminen|borre|borren|supriman?|quiten|saquen) (?:todos )?(?:mis|mi|nuestros|nuestra|nuestro) (?:\w+ )?(?:datos|direccion|correo|e-?mail|contacto)", negatable=False),
    _opt_out(0.8, r"(?:esto es|es puro|son puro|puro) spam|(?:correos?|publicidad|mensajes?|e-?mails?) no solicitad\w*"),
    _opt_out(0.9, r"no (?:autorizo|autorizamos|consiento|consentimos|doy (?:mi )?consentimiento) (?:\w+ ){0,3}(?:(?:mis|nuestros) datos|(?:mi|nuestro|nuestra) (?:correo|direccion|contacto))|(?:revoco|retiro) (?:mi )?(?:consentimiento|autorizacion)", negatable=False),
    _opt_out(0.9, rf"no (?:quiero|queremos|deseo|deseamos) (?:recibir )?(?:mas|ningun|ninguna) {_ES_EMAIL}|basta de (?:\w+ )?(?:spam|correos|mensajes|publicidad|e-?mails|mails)", negatable=False),
    _opt_out(0.9, r"(?:eliminacion|supresion|borrado|cancelacion) de (?:todos )?(?:mis|nuestros) (?:\w+ )?(?:datos|correos?|direccion)|(?:de donde|como) (?:\w+ ){0,2}(?:sacaron|obtuvieron|consiguieron|tienen|saco|obtuvo|saca|sacan) (?:mi|nuestro|nuestra|mis) (?:correo|direccion|email|e-?mail|contacto|datos)\W.{0,60}?(?:borr|elimin|quit|supr|saqu)\w*", negatable=False),
    _opt_out(0.95, r"^(?:baja|stop|darme de baja)(?:,? (?:por favor|porfa|gracias|inmediata|ya))*\W*$"),
    _opt_out(0.95, r"^(?:stop|baja|darme de baja)\W*$"),

    _no(0.92, r"no (?:me |nos )?interesa\w*|no (?:estoy|estamos) interesad\w*|sin interes|ningun interes|no es de (?:nuestro|mi) interes"),
    _no(0.85, r"no (?:lo |los |las )?(?:necesitamos|necesito|requerimos|precisamos|buscamos)|no (?:tenemos|hay) (?:necesidad|demanda|interes|planes)"),
    _no(0.8, r"ya (?:tenemos|contamos con|trabajamos con) (?:un |una |nuestros? |nuestras? |varios )?(?:\w+ )?(?:proveedor\w*|socios?|fabricantes?|distribuidor\w*)"),
    _no(0.85, r"no,? gracias|gracias,? (?:pero )?no|por (?:ahora|el momento|ahora mismo) no|no,? por (?:ahora|el momento)|(?:por ahora|de momento|esta vez|por el momento) paso|paso (?:por ahora|esta vez|de momento)|de momento no|no (?:es|son) (?:para nosotros|relevante)"),
    _no(0.85, r"(?:decidimos|decidido|optamos|optado|elegimos|elegido|quedamos) (?:\w+ ){0,2}(?:por|con) (?:otro|otra|nuestro (?:\w+ )?actual)|mantener (?:a )?nuestro (?:\w+ )?(?:proveedor|fabricante)|no (?:vamos a|podemos) (?:continuar|seguir|avanzar)|no continuaremos"),
    _no(0.8, r"no (?:importamos|compramos|trabajamos con|distribuimos|vendemos|usamos|utilizamos)|(?:solo|solamente|unicamente|exclusivamente) (?:trabajamos|compramos|importamos)|trabajamos (?:solo|solamente|unicamente|exclusivamente) con"),
    _no(0.6, r"(?:mucha|buena) suerte|(?:le|les) deseamos (?:mucho )?exito"),
    _no(0.8, r"no (?:nos|me|les) hacen? falta(?! (?:que|dar|enviar|mandar))|no (?:esta|entra) en (?:nuestros|mis) planes|no (?:procederemos|avanzaremos|seguiremos adelante|continuaremos)|no vamos a (?:proceder|avanzar|cambiar)"),
    _no(0.8, r"(?:preferimos|vamos a|seguiremos|continuaremos|queremos) (?:seguir|continuar|quedarnos) (?:con|trabajando con) (?:nuestro|nuestros|el|los|nuestra|nuestras) (?:\w+ )?(?:proveedor\w*|fabricante\w*|distribuidor\w*|socio\w*)|necesidades (?:\w+ )?(?:estan|ya estan|quedan) (?:\w+ )?(?:cubiertas|satisfechas|atendidas)|no (?:manejamos|comercializamos|trabajamos|ofrecemos|llevamos) (?:ese|este|esos|estos|esa|esta|esas|estas) (?:tipo|tipos|clase|linea|producto|articulo|rubro)\w*|no (?:nos )?aplica|no (?:estamos|estoy) en (?:condiciones|posicion|posibilidad) de|(?:contentos|satisfechos|conformes|felices|content[oa]s?) con (?:nuestro|nuestros|el|los|nuestra|nuestras) (?:\w+ )?(?:proveedor\w*|fabricante\w*|distribuidor\w*|socio\w*)|ya tenemos quien (?:nos )?(?:surta|provea|abastezca|venda|suministre)"),
    _no(0.85, r"no (?:tenemos|hay|contamos con) (?:\w+ )?(?:presupuesto|requerimiento|proyectos?|necesidades)|presupuesto (?:\w+ )?(?:congelado|agotado|cerrado)|sin presupuesto"),
    _no(0.8, r"(?:compramos|adquirimos|nos abastecemos|trabajamos|nos surtimos) (?:\w+ ){0,3}(?:proveedores|fabricantes|productores) (?:locales|nacionales|de la zona|de la region)|(?:producimos|fabricamos) (?:\w+ )?(?:nosotros mismos|internamente)"),
    _no(0.85, r"^paso(?:,? gracias)?\W*$|no (?:estamos|estoy) (?:comprando|importando|adquiriendo|cotizando|incorporando)"),
    _no(0.8, r"no (?:estamos|estoy) buscando|declinamos|(?:estamos|quedamos) (?:bien )?(?:cubiertos|abastecidos|servidos|surtidos)|no (?:es|sera) necesario(?! (?:darme|darnos|que me|que nos))"),

    _wrong(0.92, r"ya no (?:trabaj|forma parte|esta|labor|pertenec|es responsable|se encarga|me encargo)\w*"),
    _wrong(0.85, r"(?:lo|la|los|las) (?:maneja|lleva|ve|gestiona|atiende) otra persona|otra persona (?:se encarga|lo lleva|lo ve|lo maneja)"),
    _wrong(0.92, r"(?:dejo|ha dejado|he dejado|abandono|salio de) (?:la|nuestra|esta) (?:empresa|compania|organizacion)|se (?:jubilo|ha jubilado)|jubilad\w*|baja (?:por )?maternidad"),
    _wrong(0.9, r"no (?:soy|es) la persona (?:indicada|adecuada|correcta|responsable|encargada)|(?:persona|contacto|direccion|departamento) equivocad\w*"),
    _wrong(0.85, r"no (?:soy|estoy|somos) (?:el |la |los )?(?:responsable|encargad)\w*|no (?:me corresponde|es mi area|llevo (?:ese|este) tema)|(?:se )?equivoco de (?:area|persona|contacto|departamento)|llevo otra (?:linea|area)"),
    _wrong(0.8, r"soy (?:el |la |de |del )?(?:becari[oa]|contabilidad|recepcion\w*|practicante|administracion|pasante|marketing)|yo llevo (?:marketing|contabilidad|administracion|ventas|otra)"),
    _wrong(0.85, r"no soy yo (?:quien|el que|la que) (?:lleva|gestiona|decide|se encarga)|no (?:estoy|trabajo) en (?:el departamento de )?compras"),
    _wrong(0.75, r"no (?:se|sabemos) quien (?:lleva|gestiona|se encarga|es el responsable|ve)"),
    _wrong(0.85, r"(?:ya no|no) (?:estoy|esta) a cargo|me (?:jubile|he jubilado)|no (?:veo|llevo|manejo|gestiono|atiendo|trato) (?:ese|este|esos|estos|el|los|la|las) (?:tema|asunto|area|compras)\w*|no tengo (?:nada )?que ver con (?:las |el area de |el tema de )?compras|(?:me cambie|me cambiaron|me movieron|me trasladaron|cambie) (?:de|a otr[oa]) (?:area|puesto|departamento|posicion|cargo)"),
    _wrong(0.8, r"soy (?:de |del |de la )(?:recursos humanos|rrhh|ventas|logistica|sistemas|calidad|produccion|finanzas|ingenieria|area de \w+)|(?:el|la) (?:encargad[oa]|responsable|jef[ea]|gerente)(?: de(?: \w+){1,3})? es"),
    _wrong(0.8, r"(?:(?<=, )|(?<= y ))no (?:las|la parte de|el tema de|el area de|de) compras"),
    _wrong(0.8, r"el contacto (?:para (?:\w+ ){1,3})?es|la persona (?:indicada|encargada|responsable) es|(?:las|los|la|lo) (?:ve|lleva|gestiona) (?:la|el)"),
    _wrong(0.75, r"(?:contacte|contacten|contactar|escriba|escriban|escribir|dirijase|dirigirse|comuniquese) (?:a|con) (?:mi|nuestro|nuestra|el|la) (?:\w+ ){0,2}(?:companer\w*|colega|departamento|responsable|area|encargad\w*|gerente)|mi (?:companer\w*|colega|sucesor\w*)|sucesor\w*"),

    _yes(0.9, r"(?:envie|envien|enviar|mande|manden|mandar|envia|manda|compartir|comparta|facilite|faciliten|hacer llegar)(?:me|nos)? (?:\w+ ){0,3}(?:catalogo|precios|lista de precios|cotizacion|muestras?|informacion|oferta|presupuesto|fichas? tecnicas?|tarifas?)"),
    _yes(0.8, r"cotizacion|cotizar|presupuesto|lista de precios|catalogo|muestras?|pedido minimo|cantidad minima|moq|fichas? tecnicas?|tarifas?|plazo de entrega|pedido de prueba"),
    _yes(0.7, r"precios?|oferta|condiciones"),
    _yes(0.85, r"(?:muy |bastante )?interesad\w*|(?:nos|me) interesa\w*|interesante"),
    _yes(0.8, r"llamada|reunion|videollamada|llamar(?:me|nos)?|llamenme|agendar|cita|hablar|conversar"),
    _yes(0.8, r"(?:me|nos) gustaria (?:recibir|saber|conocer|ver)|cuanto cuesta|cual es el precio|mas informacion"),

    _neutral(0.88, r"fuera de la oficina|de vacaciones|a mi regreso|ausente|respuesta automatica"),
    _neutral(0.7, r"(?:he|hemos|ha) (?:reenviado|remitido|trasladado)|reenviado|(?:lo|la|se lo) reenvio|internamente", negatable=True),
    _neutral(0.6, r"(?:lo )?(?:revisaremos|revisare|analizaremos|estudiaremos)|(?:le|les) (?:contactaremos|escribiremos|respondere|responderemos)"),
    _neutral(0.6, r"carpeta de (?:spam|correo no deseado)|correo no deseado"),
    _neutral(0.85, r"en copia(?![a-z])|con copia a"),
))
# fmt: on

# --- zh -------------------------------------------------------------------------------------

# fmt: off
ZH = _section("zh", (
    _opt_out(0.97, r"退订|退訂|取消订阅|取消訂閱|退阅|取消邮件订阅|拒收"),
    _opt_out(0.95, r"(?:不要|请勿|請勿|别|別|勿|請不要|请不要)再(?:给我|給我|向我|给我们|對我|对我)?(?:发|發|寄|联系|聯繫|打扰|打擾|骚扰|騷擾|来信|來信|推送|写|寫)(?!.{0,3}(?:样品|樣品|报价|報價|目录|目錄|资料|資料))", negatable=False),
    _opt_out(0.9, r"(?:请勿|請勿|请不要|請不要)(?:给我|給我|向我)?(?:发送|發送|发邮件|發郵件|联系|聯繫|打扰|打擾)(?!.{0,3}(?:样品|樣品|报价|報價|目录|目錄|资料|資料))", negatable=False),
    _opt_out(0.95, r"不(?:想|希望|愿意|願意|要|需要)再?(?:收到|接收|接到|接受)(?!.{0,3}(?:样品|樣品|报价|報價|目录|目錄|资料|資料))", negatable=False),
    _opt_out(0.9, r"不再(?:接收|收到|需要收到|发|給|给)", negatable=False),
    _opt_out(0.9, r"(?:不要|别|別|勿)(?:再)?(?:发|發)了|以后(?:不要|别|別|勿)(?:再)?(?:发|發|联系|聯繫)", negatable=False),
    _opt_out(0.95, r"(?:把|将|將)(?:我|我们|我們|我的)(?:的)?(?:邮箱|郵箱|邮件地址|郵件地址|地址|联系方式|聯繫方式|信息|资料)?.{0,12}?(?:删除|刪除|移除|去掉|移出|除名|删掉|刪掉|去除)"),
    _opt_out(0.95, r"从.{0,10}?(?:列表|名单|名單|邮件列表|数据库|資料庫|通讯录)(?:中|里|裡)?(?:删除|刪除|移除|去掉|移出)"),
    _opt_out(0.8, r"(?:删除|刪除|移除)(?:我|我们|我們)(?!的?(?:上|前|刚|剛))"),
    _opt_out(0.75, r"(?:是|都是)垃圾(?:邮件|郵件)|骚扰|騷擾"),
    _opt_out(0.9, r"停止(?:向我|给我|給我|对我|對我)?(?:发送|發送|发|發|寄|推送|联系|聯繫|打扰|打擾)(?!.{0,3}(?:样品|樣品|报价|報價|目录|目錄|资料|資料|货|貨))", negatable=False),
    _opt_out(0.9, r"(?:怎么|怎麼|哪里|哪裡|从哪|從哪|如何).{0,10}?(?:邮箱|郵箱|邮件地址|郵件地址|地址|联系方式|聯繫方式|信息|資訊).{0,20}?(?:删除|刪除|删掉|刪掉|移除)|我的?(?:邮箱|郵箱|邮件地址|郵件地址|联系方式|聯繫方式|个人信息|個人資料|个人资料)[^,.!?]{0,8}?(?:删除|刪除|删掉|刪掉|移除)", negatable=False),
    _opt_out(0.95, r"^(?:td|退订|stop)\W*$"),

    _no(0.92, r"不感兴趣|不感興趣|没(?:有)?兴趣|沒(?:有)?興趣|无意向|暂无意向|不考虑|不考慮"),
    _no(0.85, r"(?:暂时|暫時|目前|现在|現在|暂|暫)?(?:不需要|不需|无需|無需|不用了|没有需要|沒有需要|没有需求|沒有需求|暂无需求|暫無需求)", negatable=False),
    _no(0.8, r"(?:已(?:经)?|已經)有.{0,8}?(?:供应商|供應商|合作伙伴|合作夥伴|厂家|廠家|厂商|廠商|供货商|供貨商|工厂|工廠|渠道)"),
    _no(0.8, r"不(?:做|经营|經營|销售|銷售|采购|採購|进口|進口|用)(?:这个|這個|这类|這類|这种|這種|此类|此類)?(?:产品|產品|业务|業務)"),
    _no(0.85, r"(?:选了|选择了|選了|選擇了|找了|定了)(?:别家|別家|其他|其它|另一家|别的)|不合作|暂不合作|暫不合作"),
    _no(0.8, r"(?:暂无|暫無|没有|沒有|暂时没有|暫時沒有).{0,8}?(?:采购|採購|进口|進口)?(?:计划|計劃|需求)|不合适|不合適|谢谢,?不用|不用了|婉拒|谢绝|謝絕|算了"),
    _no(0.8, r"有(?:固定|长期|長期|稳定|穩定|合作)的?.{0,4}?(?:供应商|供應商|厂家|廠家|工厂|工廠|合作伙伴|合作夥伴)"),
    _no(0.8, r"预算(?:已经|已經|已)?(?:冻结|用完|花完|紧张|不足|有限|砍)|預算(?:已經|已)?(?:凍結|用完|緊張|不足|有限)|(?:没有|沒有|无|無)预算|(?:没有|沒有|无|無)預算"),
    _no(0.8, r"(?:都是|都在|只在|只从|只從|只|都)(?:本地|国内|國內|当地|當地|本土)(?:采购|採購|供应|供應|进货|進貨|生产|生產)|(?:本地|当地|當地)(?:采购|採購)"),
    _no(0.8, r"不(?:从|從|在)(?:国外|國外|海外|中国|中國|外国|外國).{0,4}?(?:进口|進口|采购|採購|进货|進貨|买|買)"),
    _no(0.8, r"不(?:再)?(?:进货|進貨|采购了|採購了|订货|訂貨|下单|下單|外购|外購)|今年不(?:采购|採購)|自己(?:生产|生產|做|加工|制造|製造)|自产|自產|用不(?:到|上|着|著)"),
    _no(0.8, r"不(?:做|经营|經營|从事|從事)(?:进口|進口|外贸|外貿|国际|國際)(?:产品|產品|业务|業務|生意)|不缺(?:供应商|供應商|货|貨|厂家|廠家|渠道)|(?:采购|採購|订单|訂單|供应商|供應商)(?:计划|計劃)?(?:已经|已經|早就|都)?(?:定了|确定了|確定了|敲定了|满了|滿了)|(?:没有|沒有|不打算|无意|無意)(?:更换|更換|换|換)(?:供应商|供應商)?|(?:没有|沒有).{0,8}?(?:打算|意向)"),

    _wrong(0.92, r"(?:调|調|转|轉)(?:到|去|至)(?:了)?(?:其他|别的|別的|另一个|另一個|其它)?(?:部门|部門|岗位|崗位|分公司)|已(?:经)?离职|已經離職|离职了|離職了|已(?:经)?离开|已經離開|不在(?:公司|本公司|这家公司|我们公司|我們公司)|不再(?:负责|負責|在(?:公司|这里|這裡))|退休|调职|調職|调岗|調崗|转岗|轉崗"),
    _wrong(0.9, r"不归我(?:管|负责)|不歸我(?:管|負責)|不是我管|不是我负责|不是我負責|不由我负责|我不是(?:做)?(?:采购|採購)|我不(?:做|管)(?:采购|採購)"),
    _wrong(0.88, r"不(?:是|负责|負責)(?:这|這|此|该|該)?(?:方面|块|塊|个|個|项|項)?(?:的)?(?:负责人|負責人|业务|業務|工作)|换(?:了)?(?:岗位|部门|工作)|換(?:了)?(?:崗位|部門|工作)|不管(?:这|這)(?:块|塊|个|個|事)|不负责|不負責|找错人|找錯人|发错|發錯|联系人(?:已)?(?:变更|更换)"),
    _wrong(0.95, r"(?:邮箱|郵箱|邮件地址|郵件地址|信箱)(?:已经|已經|已)?(?:不用了|不再使用|停用|作废|作廢|无人查看|無人查看)"),
    _wrong(0.8, r"我(?:只是|是|只)(?:这里的|這裡的)?(?:前台|实习生|實習生|财务|財務|行政|会计|會計|文员|文員)"),
    _wrong(0.8, r"(?:是|由).{1,15}?(?:在)?(?:负责|負責)|(?:直接)?找(?:她|他|我们的|我們的).{0,6}?(?:就行|吧|即可)|请洽|請洽|不知道(?:谁|誰)(?:负责|負責|管)"),
    _wrong(0.75, r"请(?:联系|聯繫|联络|找|发给|發給|发送至|发至|寄给)|請(?:聯繫|聯絡|找|發給)|(?:负责人|負責人|联系人|聯繫人|对接人)是|接替|接任"),

    _yes(0.9, r"(?:请|請|麻烦|麻煩|可以|能否|能不能)?(?:发|發|寄|提供|报|報)(?:一下|一份|一些)?(?:你们的|您的|贵司的)?(?:报价|報價|价格|價格|价目表|價目表|价格表|價格表|样品|樣品|目录|目錄|产品目录|資料|资料|规格书|規格書)"),
    _yes(0.9, r"(?:把|将|將)(?:你们的|您的|贵司的)?(?:报价|報價|价格|價格|价目表|價目表|价格表|價格表|样品|樣品|目录|目錄|产品目录|資料|资料|规格书|規格書).{0,6}?(?:发|發|寄|给|給)"),
    _yes(0.8, r"报价|報價|价目表|價目表|价格表|價格表|价单|樣品|样品|样本|樣本|产品目录|產品目錄|起订量|起訂量|最小起订量|moq|询价|詢價|打样|打樣|寄样|寄樣|交期|试单|試單|规格书|規格書"),
    _yes(0.7, r"价格|價格|目录|目錄|多少钱|多少錢|单价|單價|资料|資料"),
    _yes(0.85, r"感兴趣|感興趣|有兴趣|有興趣|有意向|想了解|可以合作|希望合作|有需求"),
    _yes(0.8, r"(?:电话|電話|通话|通話|会议|會議|视频|視頻|见面|見面|面谈|面談|详谈|詳談|拜访|拜訪|微信)(?!\s*:)"),

    _neutral(0.88, r"休假|不在办公室|不在辦公室|外出|出差|返回办公室|回来后|回來後|自动回复|自動回覆"),
    _neutral(0.7, r"(?:转|轉|转发|轉發)(?:给|給)|(?:已|已经)转|已轉", negatable=True),
    _neutral(0.6, r"(?:稍后|稍後|之后|之後|后续|後續)(?:回复|回覆|联系|聯繫)|(?:内部|內部)(?:讨论|討論)|考虑一下|考慮一下"),
    _neutral(0.6, r"垃圾(?:邮件|郵件)?(?:箱|文件夹)"),
    _neutral(0.85, r"抄送"),
))
# fmt: on

#: Every cue of every language, and per language.
CUES_BY_LANGUAGE: dict[str, tuple[Cue, ...]] = {"en": EN, "de": DE, "fr": FR, "es": ES, "zh": ZH}
ALL_CUES: tuple[Cue, ...] = tuple(cue for cues in CUES_BY_LANGUAGE.values() for cue in cues)
