"""GitHub's OAuth web flow, for the fake GitHub: authorize, exchange the code, who is it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

Json = Any


@dataclass
class FakeOAuth:
    """GitHub's OAuth web flow: `user` is who is signed in at GitHub and approves at once."""

    clients: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def authorize(self, query: dict[str, list[str]]) -> str | None:
        """Where `/login/oauth/authorize` redirects: back with a code and the same state."""
        client = query.get("client_id", [""])[0]
        redirect = query.get("redirect_uri", [""])[0]
        if client not in self.clients or self.user is None or not redirect:
            return None
        code = secrets.token_hex(10)
        self.codes[code] = (self.user, client, redirect)
        state = query.get("state", [""])[0]
        return f"{redirect}?{urlencode({'code': code, 'state': state})}"

    def exchange(self, form: dict[str, list[str]]) -> Json:
        """`POST /login/oauth/access_token`: a user token for a valid, unused code."""
        first = {k: v[0] for k, v in form.items()}
        found = self.codes.pop(first.get("code", ""), None)
        client, secret = first.get("client_id", ""), first.get("client_secret", "")
        if found is None or found[1] != client or self.clients.get(client) != secret:
            return {"error": "bad_verification_code", "error_description": "The code is wrong."}
        if found[2] != first.get("redirect_uri"):
            return {"error": "redirect_uri_mismatch"}
        token = "gho_" + secrets.token_hex(16)
        self.tokens[token] = found[0]
        return {"access_token": token, "token_type": "bearer", "scope": ""}

    def user_of(self, token: str) -> str | None:
        """The login a user token belongs to."""
        return self.tokens.get(token)
