"""Free-mail domains: an address there says nothing about the company, so a reply from one
never stops colleagues' enrollments."""

from __future__ import annotations

FREE_MAIL_DOMAINS = frozenset(
    {
        # global
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "ymail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "mail.com",
        "zoho.com",
        "yandex.com",
        # China: the mailboxes many buyers and suppliers actually use
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "sina.cn",
        "sohu.com",
        "aliyun.com",
        "139.com",
        # Europe, Russia, elsewhere
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "virgilio.it",
        "mail.ru",
        "yandex.ru",
        "rambler.ru",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "interia.pl",
        "hotmail.co.uk",
        "yahoo.co.uk",
        "yahoo.co.jp",
        "naver.com",
        "daum.net",
        "rediffmail.com",
        "uol.com.br",
        "bol.com.br",
    }
)


def is_free_mail(domain: str) -> bool:
    """Whether `domain` (any case) is a free-mail provider, including national `yahoo.*`/`hotmail.*`."""
    d = domain.strip().lower().rstrip(".")
    if d in FREE_MAIL_DOMAINS:
        return True
    label = d.split(".", 1)[0]
    return label in {"yahoo", "hotmail", "outlook", "live", "gmx"}


__all__ = ["FREE_MAIL_DOMAINS", "is_free_mail"]
