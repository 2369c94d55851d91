"""Address validation at import: syntax and normalisation (email-validator), disposable domains,
role accounts, and an optional MX check, giving one verdict per address.

Role accounts are flagged, not rejected: in export trade a company's only published address is
often `info@` or `sales@`, and someone reads it. `purchasing@`, `procurement@`, `import@`,
`sourcing@`, `buyer@` (and pinyin `caigou@`) are where buyers sit, so they are not role accounts
here at all. Rejected outright: no-reply addresses (a reply, the whole point of a sequence, cannot
arrive), `abuse@` and `postmaster@` (mail there is read as a complaint), and disposable domains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import dns.resolver
from email_validator import (
    EmailNotValidError,
    EmailUndeliverableError,
    caching_resolver,
    validate_email,
)

#: Seconds the MX lookup may take when nurture builds the resolver itself (email-validator: 15).
MX_TIMEOUT_SECONDS = 5

#: Disposable (throw-away) mail providers. Subdomains count too.
DISPOSABLE_DOMAINS = frozenset(
    {
        "10minutemail.com",
        "10minutemail.net",
        "10minutemail.co.uk",
        "10minutemail.de",
        "10minemail.com",
        "20minutemail.com",
        "20minutemail.it",
        "33mail.com",
        "anonbox.net",
        "anonymbox.com",
        "armyspy.com",
        "bccto.me",
        "binkmail.com",
        "bobmail.info",
        "bugmenot.com",
        "burnermail.io",
        "byom.de",
        "chacuo.net",
        "cuvox.de",
        "dayrep.com",
        "deadaddress.com",
        "despam.it",
        "discard.email",
        "discardmail.com",
        "discardmail.de",
        "dispostable.com",
        "dodgit.com",
        "dropmail.me",
        "drdrb.com",
        "e4ward.com",
        "einrot.com",
        "emailfake.com",
        "emailondeck.com",
        "emailsensei.com",
        "emailtemporanea.net",
        "emltmp.com",
        "fakeinbox.com",
        "fakemail.net",
        "fakemailgenerator.com",
        "fastacura.com",
        "filzmail.com",
        "fleckens.hu",
        "getairmail.com",
        "getnada.com",
        "gishpuppy.com",
        "grr.la",
        "guerrillamail.biz",
        "guerrillamail.com",
        "guerrillamail.de",
        "guerrillamail.info",
        "guerrillamail.net",
        "guerrillamail.org",
        "guerrillamailblock.com",
        "gustr.com",
        "harakirimail.com",
        "hidemail.de",
        "incognitomail.com",
        "incognitomail.org",
        "inboxbear.com",
        "inboxkitten.com",
        "jetable.org",
        "jourrapide.com",
        "kasmail.com",
        "klzlk.com",
        "mail-temp.com",
        "mail.tm",
        "mailcatch.com",
        "maildrop.cc",
        "mailexpire.com",
        "mailforspam.com",
        "mailinator.com",
        "mailinator.net",
        "mailinator.org",
        "mailinator2.com",
        "mailmetrash.com",
        "mailnesia.com",
        "mailnull.com",
        "mailpoof.com",
        "mailsac.com",
        "mailslurp.com",
        "mailtemp.info",
        "mintemail.com",
        "moakt.com",
        "mohmal.com",
        "mt2015.com",
        "mytemp.email",
        "mytrashmail.com",
        "nada.email",
        "neverbox.com",
        "no-spam.ws",
        "nowmymail.com",
        "objectmail.com",
        "onewaymail.com",
        "owlymail.com",
        "pokemail.net",
        "proxymail.eu",
        "rcpt.at",
        "rhyta.com",
        "sharklasers.com",
        "shitmail.me",
        "spam4.me",
        "spambog.com",
        "spambox.us",
        "spamex.com",
        "spamfree24.org",
        "spamgourmet.com",
        "spamherelots.com",
        "spaml.de",
        "spammotel.com",
        "spamspot.com",
        "superrito.com",
        "teleworm.us",
        "temp-mail.io",
        "temp-mail.org",
        "temp-mail.ru",
        "tempail.com",
        "tempemail.net",
        "tempinbox.com",
        "tempmail.com",
        "tempmail.de",
        "tempmail.net",
        "tempmail.plus",
        "tempmailaddress.com",
        "tempmailo.com",
        "tempr.email",
        "tempsky.com",
        "throwam.com",
        "throwawaymail.com",
        "tmail.ws",
        "tmails.net",
        "tmpmail.net",
        "tmpmail.org",
        "trash-mail.com",
        "trash-mail.de",
        "trashmail.at",
        "trashmail.com",
        "trashmail.de",
        "trashmail.io",
        "trashmail.me",
        "trashmail.net",
        "trashmail.org",
        "trashmail.ws",
        "trbvm.com",
        "wegwerfmail.de",
        "wegwerfmail.net",
        "wegwerfmail.org",
        "yopmail.com",
        "yopmail.fr",
        "yopmail.net",
        "zetmail.com",
        "zippymail.info",
    }
)

#: Local parts read as a function, not a person: flagged so ops can weigh them.
ROLE_LOCAL_PARTS = frozenset(
    {
        "info",
        "information",
        "sales",
        "admin",
        "administrator",
        "support",
        "help",
        "service",
        "services",
        "customerservice",
        "contact",
        "contactus",
        "enquiries",
        "enquiry",
        "inquiry",
        "inquiries",
        "office",
        "hello",
        "team",
        "marketing",
        "press",
        "media",
        "newsletter",
        "webmaster",
        "hostmaster",
        "root",
        "hr",
        "jobs",
        "careers",
        "recruitment",
        "billing",
        "accounts",
        "accounting",
        "finance",
        "invoice",
        "invoices",
        "legal",
        "privacy",
        "security",
        # Chinese pinyin: customer service, sales, finance, HR, recruitment, admin office.
        "kefu",
        "xiaoshou",
        "caiwu",
        "renshi",
        "zhaopin",
        "xingzheng",
        "bangong",
        "客服",
        "销售",
    }
)

#: Rejected: nobody can reply from there, or mail there reads as a complaint.
NO_REPLY_LOCAL_PARTS = frozenset(
    {"noreply", "donotreply", "dontreply", "notreply", "mailerdaemon", "bounce", "bounces"}
)
COMPLAINT_DESK_LOCAL_PARTS = frozenset({"abuse", "postmaster"})

_SEPARATORS = re.compile(r"[._-]")
_TRAILING_DIGITS = re.compile(r"\d+$")


@dataclass(frozen=True)
class AddressVerdict:
    """`ok` says whether to import the address; `reasons` says why not, or what to know.

    `normalized` keeps the local part as written (RFC 5321 lets a server tell `Anna` from
    `anna`) with the domain lower-cased; compare and deduplicate on `key`."""

    normalized: str | None
    ok: bool
    role_account: bool = False
    disposable: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        """The case-insensitive form, as contacts are stored and matched."""
        return self.normalized.lower() if self.normalized is not None else None


def role_key(local_part: str) -> str:
    """`No-Reply+x`, `no_reply`, `sales2` → `noreply`, `noreply`, `sales`: the local part's role."""
    base = local_part.split("+", 1)[0].lower()
    return _TRAILING_DIGITS.sub("", _SEPARATORS.sub("", base))


def is_disposable_domain(domain: str) -> bool:
    """Whether `domain` (ASCII/IDNA form) or a parent of it is a disposable-mail provider."""
    labels = domain.lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in DISPOSABLE_DOMAINS for i in range(len(labels) - 1))


@lru_cache(maxsize=1)
def default_resolver() -> dns.resolver.Resolver:
    """The system's resolver with nurture's timeout and a cache shared by every lookup."""
    return caching_resolver(timeout=MX_TIMEOUT_SECONDS)


def validate_address(
    email: str, *, check_mx: bool = False, resolver: dns.resolver.Resolver | None = None
) -> AddressVerdict:
    """Judge one address for import. Syntax errors, disposable domains, no-reply and complaint
    desks are rejected; role accounts are flagged. With `check_mx`, a domain that does not exist
    or accepts no mail is rejected too (a DNS timeout is not: the address is kept, with a reason).
    The DNS check runs only for addresses that passed everything else."""
    try:
        parsed = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return AddressVerdict(normalized=None, ok=False, reasons=[str(exc)])

    reasons: list[str] = []
    rejected = False
    disposable = is_disposable_domain(parsed.ascii_domain)
    if disposable:
        rejected = True
        reasons.append(f"{parsed.domain} is a disposable-mail provider")

    role = role_key(parsed.local_part)
    role_account = False
    if role in NO_REPLY_LOCAL_PARTS:
        rejected, role_account = True, True
        reasons.append(f"{parsed.local_part}@ cannot receive a reply: no-reply address")
    elif role in COMPLAINT_DESK_LOCAL_PARTS:
        rejected, role_account = True, True
        reasons.append(f"{parsed.local_part}@ is a complaint desk: mail there reads as abuse")
    elif role in ROLE_LOCAL_PARTS:
        role_account = True
        reasons.append(f"{parsed.local_part}@ is a role account: it may reach nobody in person")

    if check_mx and not rejected:
        try:
            checked = validate_email(
                parsed.normalized,
                check_deliverability=True,
                dns_resolver=resolver or default_resolver(),
            )
        except dns.resolver.NoResolverConfiguration:
            reasons.append("MX check skipped: this machine has no DNS resolver configured")
        except EmailUndeliverableError as exc:
            rejected = True
            reasons.append(str(exc))
        else:
            if not getattr(checked, "mx", None):
                reasons.append(
                    f"MX check for {parsed.domain} inconclusive (DNS timed out or "
                    "no nameserver answered): address kept"
                )

    return AddressVerdict(
        normalized=parsed.normalized,
        ok=not rejected,
        role_account=role_account,
        disposable=disposable,
        reasons=reasons,
    )


__all__ = [
    "COMPLAINT_DESK_LOCAL_PARTS",
    "DISPOSABLE_DOMAINS",
    "MX_TIMEOUT_SECONDS",
    "NO_REPLY_LOCAL_PARTS",
    "ROLE_LOCAL_PARTS",
    "AddressVerdict",
    "default_resolver",
    "is_disposable_domain",
    "role_key",
    "validate_address",
]
