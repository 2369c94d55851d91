"""The DKIM check: a selector's key published at `<selector>._domainkey.<domain>`, directly or
through SendGrid's CNAME."""

from __future__ import annotations

import base64
import binascii

from activities.deliverability.dns.names import (
    _bare,
    _is_within,
    normalize_domain,
    normalize_selector,
)
from activities.deliverability.dns.records import SENDGRID_DOMAIN, tag_list
from activities.deliverability.dns.resolver import Resolver
from activities.deliverability.dns.results import CheckKind, CheckResult, _failed, _guarded, _passed
from models.errors import NoDomain, NoRecords


class DkimChecks:
    """`DomainChecker`'s DKIM check of one selector."""

    resolver: Resolver

    def check_dkim(self, domain: str, selector: str) -> CheckResult:
        domain, selector = normalize_domain(domain), normalize_selector(selector)
        return _guarded(CheckKind.DKIM, f"DKIM {selector}", lambda: self._dkim(domain, selector))

    def _dkim(self, domain: str, selector: str) -> CheckResult:
        kind, name = CheckKind.DKIM, f"DKIM {selector}"
        host = f"{selector}._domainkey.{domain}"
        fix = (
            f"Authenticate {domain} in SendGrid (Settings → Sender Authentication) and publish the "
            f"CNAME it shows: {host} CNAME {selector}.domainkey.uNNNNNNN.wlNNN.sendgrid.net "
            "(the u/wl numbers are your account's). Without automated security, publish its TXT "
            f'instead: {host} TXT "v=DKIM1; k=rsa; p=<public key>".'
        )
        try:
            cnames = self.resolver.resolve(host, "CNAME")
        except (NoDomain, NoRecords):
            cnames = []
        if cnames:
            target = _bare(cnames[0])
            if _is_within(target, SENDGRID_DOMAIN):
                return _passed(kind, name, f"{host} is a CNAME to SendGrid", f"CNAME → {target}")
            where = f"{host} → {target}"
        else:
            target, where = host, host
        try:
            texts = self.resolver.resolve(target, "TXT")
        except (NoDomain, NoRecords):
            texts = []
        keys = [tag_list(t) for t in texts]
        keys = [k for k in keys if "p" in k and k.get("v", "DKIM1").upper() == "DKIM1"]
        if not keys:
            return _failed(kind, name, f"no DKIM key at {where}", fix)
        key = keys[0].get("p", "")
        if not key:
            return _failed(kind, name, f"the DKIM key at {where} is revoked (empty p=)", fix)
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            return _failed(kind, name, f"the DKIM key at {where} is not valid base64", fix)
        return _passed(kind, name, f"DKIM key published at {where}", f"p={key[:24]}…")


__all__ = ["DkimChecks"]
