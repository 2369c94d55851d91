"""Sending-domain DNS checks (SPF, DKIM, DMARC, MX, blocklists), each with the fix to publish.
Every lookup goes through a `resolver` (dnspython in production, a static table in tests); `report`
runs every check of a domain, one module per check, on the `records` and `names` they share."""

from activities.deliverability.dns.blocklists import BLOCKLISTS, Blocklist
from activities.deliverability.dns.names import normalize_domain, normalize_selector
from activities.deliverability.dns.records import (
    SENDGRID_DKIM_SELECTORS,
    SENDGRID_INBOUND_MX,
    SENDGRID_SPF_INCLUDE,
    SpfTerm,
    is_spf,
    spf_terms,
    tag_list,
)
from activities.deliverability.dns.report import DomainChecker, DomainReport, check_domain
from activities.deliverability.dns.resolver import DnsPythonResolver, Resolver, StaticResolver
from activities.deliverability.dns.results import CheckKind, CheckResult, CheckStatus
from activities.deliverability.dns.spf import SPF_LOOKUP_LIMIT

__all__ = [
    "BLOCKLISTS",
    "SENDGRID_DKIM_SELECTORS",
    "SENDGRID_INBOUND_MX",
    "SENDGRID_SPF_INCLUDE",
    "SPF_LOOKUP_LIMIT",
    "Blocklist",
    "CheckKind",
    "CheckResult",
    "CheckStatus",
    "DnsPythonResolver",
    "DomainChecker",
    "DomainReport",
    "Resolver",
    "SpfTerm",
    "StaticResolver",
    "check_domain",
    "is_spf",
    "normalize_domain",
    "normalize_selector",
    "spf_terms",
    "tag_list",
]
