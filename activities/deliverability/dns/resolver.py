"""The `Resolver` every DNS check asks through: dnspython in production (`DnsPythonResolver`), a
table of records (`StaticResolver`) in tests and dry runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import dns.exception
import dns.rdata
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.TXT
import dns.resolver

from activities.deliverability.dns.names import _bare
from models.errors import DnsUnavailable, NoDomain, NoRecords


class Resolver(Protocol):
    """Answers one DNS question as record texts, or raises `NoDomain`, `NoRecords` or
    `DnsUnavailable`. TXT: a record's strings joined; CNAME: the target; MX: "preference
    exchange"; A: the address. Names come without the trailing dot."""

    def resolve(self, name: str, rdtype: str) -> list[str]: ...


class DnsPythonResolver:
    """The real `Resolver`: dnspython over this machine's name servers (or `nameservers` on
    `port`), giving up on a question after `timeout` seconds."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        nameservers: Sequence[str] | None = None,
        port: int = 53,
    ) -> None:
        self.timeout = timeout
        self.nameservers = list(nameservers) if nameservers else None
        self.port = port
        self._resolver: dns.resolver.Resolver | None = None

    def resolve(self, name: str, rdtype: str) -> list[str]:
        resolver = self._dnspython(name, rdtype)
        try:
            answer = resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NXDOMAIN as exc:
            raise NoDomain(name, rdtype) from exc
        except dns.resolver.NoAnswer as exc:
            raise NoRecords(name, rdtype) from exc
        except dns.exception.Timeout as exc:
            raise DnsUnavailable(name, rdtype, f"timed out after {self.timeout:g} s") from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsUnavailable(
                name, rdtype, "no name server would answer (SERVFAIL or REFUSED)"
            ) from exc
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsUnavailable(name, rdtype, str(exc) or type(exc).__name__) from exc
        return [_rdata_text(rdata) for rdata in answer]

    def _dnspython(self, name: str, rdtype: str) -> dns.resolver.Resolver:
        if self._resolver is None:
            try:
                resolver = dns.resolver.Resolver(configure=self.nameservers is None)
            except dns.resolver.NoResolverConfiguration as exc:
                raise DnsUnavailable(
                    name, rdtype, "this machine has no DNS resolver set up"
                ) from exc
            if self.nameservers:
                resolver.nameservers = self.nameservers
            resolver.port = self.port
            resolver.lifetime = self.timeout
            self._resolver = resolver
        return self._resolver


def _rdata_text(rdata: dns.rdata.Rdata) -> str:
    if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if isinstance(rdata, dns.rdtypes.ANY.MX.MX):
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    if isinstance(rdata, dns.rdtypes.ANY.CNAME.CNAME):
        return rdata.target.to_text(omit_final_dot=True)
    return rdata.to_text()


class StaticResolver:
    """A `Resolver` answering from a table of (name, rdtype) → record texts, for tests and dry
    runs. Names in `unavailable` time out; a name absent from the table does not exist."""

    def __init__(
        self,
        records: Mapping[tuple[str, str], Sequence[str]],
        *,
        unavailable: Iterable[str] = (),
    ) -> None:
        self.records = {(_bare(n), t.upper()): list(v) for (n, t), v in records.items()}
        self.unavailable = {_bare(n) for n in unavailable}
        #: Every question asked, in order.
        self.queries: list[tuple[str, str]] = []

    def resolve(self, name: str, rdtype: str) -> list[str]:
        key = (_bare(name), rdtype.upper())
        self.queries.append(key)
        if key[0] in self.unavailable:
            raise DnsUnavailable(name, rdtype, "timed out")
        if self.records.get(key):
            return list(self.records[key])
        if any(known == key[0] for known, _ in self.records):
            raise NoRecords(name, rdtype)
        raise NoDomain(name, rdtype)


__all__ = ["DnsPythonResolver", "Resolver", "StaticResolver"]
