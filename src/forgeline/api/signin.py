"""The sign-in routes: `GET /signin` (the page), `POST /signin` (the token form), `/signout`."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from forgeline.api.auth import AuthConfig, safe_next, session_cookie, signin_page

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 16 * 1024


def _config(request: Request) -> AuthConfig:
    config: AuthConfig = request.app.state.auth
    return config


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    fields = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


@router.get("/signin")
async def signin_form(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in page."""
    return HTMLResponse(signin_page(_config(request), next_path=next))


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check the token from the form; on success set the session cookie and go back."""
    config = _config(request)
    form = await _form(request)
    target = safe_next(form.get("next"))
    if config.token is None or not config.token.check(form.get("token", "\0")):
        page = signin_page(config, next_path=target, error="That is not the server's API token.")
        return HTMLResponse(page, status_code=401)
    response = RedirectResponse(target, status_code=303)
    cookie = session_cookie(config.token.session_value, secure=request.url.scheme == "https")
    response.headers.append("set-cookie", cookie)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/signin", status_code=303)
    response.headers.append(
        "set-cookie", session_cookie("", secure=request.url.scheme == "https", max_age=0)
    )
    return response
