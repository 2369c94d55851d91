"""Bearer-token guard of `/api`: `Authorization: Bearer NURTURE_API_TOKEN`, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request


def require_api_token(request: Request) -> None:
    expected: str = request.app.state.settings.api_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
