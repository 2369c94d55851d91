"""Who may see the dashboard: an accepted API token as bearer, or the session cookie `POST /login`
sets after checking one. The cookie is `{expiry}.{HMAC}` keyed by NURTURE_SECRET_KEY and bound to
the token it was issued under: removing that token from NURTURE_API_TOKENS (or rotating the
secret key) ends its sessions, the other tokens' sessions go on; with no token set nobody gets
in."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from fastapi import HTTPException, Request

from api.auth import accepted_token
from api.deps import SettingsDep
from models.settings import Settings

COOKIE_NAME = "nurture_session"
#: A session lasts a working day; then the token is asked for again.
SESSION_SECONDS = 12 * 3600


def token_matches(settings: Settings, presented: str) -> bool:
    """The presented token is an accepted API token; never true when none is set."""
    return accepted_token(settings, presented) is not None


def _mac(settings: Settings, token: str, expires: int) -> str:
    key = hashlib.sha256(f"nurture/dashboard/{settings.secret_key}".encode()).digest()
    token_digest = hashlib.sha256(token.encode()).hexdigest()
    return hmac.new(key, f"{expires}:{token_digest}".encode(), hashlib.sha256).hexdigest()


def session_cookie(settings: Settings, token: str, now: float | None = None) -> str:
    """A fresh cookie value for a login with `token` (an accepted one), valid for
    `SESSION_SECONDS` and while `token` stays accepted."""
    expires = int(now if now is not None else time.time()) + SESSION_SECONDS
    return f"{expires}.{_mac(settings, token, expires)}"


def session_valid(settings: Settings, value: str | None, now: float | None = None) -> bool:
    """The cookie is unexpired and was issued under a token that is still accepted."""
    if not value:
        return False
    expires_text, _, mac = value.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    matched = [
        hmac.compare_digest(mac.encode(), _mac(settings, token, expires).encode())
        for token in settings.accepted_api_tokens
    ]
    return any(matched)


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (another host, `//x`) becomes `/`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def require_dashboard_access(request: Request, settings: SettingsDep) -> None:
    """A valid bearer header or session cookie; a wrong bearer is 401, no credentials go to /login."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token_matches(settings, token.strip()):
            return
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
    if session_valid(settings, request.cookies.get(COOKIE_NAME)):
        return
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise HTTPException(303, "login required", headers={"Location": f"/login?next={quote(target)}"})


__all__ = [
    "COOKIE_NAME",
    "SESSION_SECONDS",
    "require_dashboard_access",
    "safe_next",
    "session_cookie",
    "session_valid",
    "token_matches",
]
