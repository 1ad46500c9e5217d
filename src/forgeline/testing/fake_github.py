"""A loopback fake of the GitHub REST endpoints Forgeline uses, and git over HTTP beside it.

One server, one base URL (so `FORGELINE_GITHUB_URL` covers both): `/<owner>/<name>.git/...`
is `git http-backend` requiring basic auth with user `x-access-token` and a token the fake
issued (or a static token); `/api/v3/...` is the REST API (`FORGELINE_GITHUB_API_URL`), with
GitHub's JSON shapes. App endpoints check the JWT's RS256 signature against the App's public
key; installation tokens expire after `token_ttl_s`. Every API request is recorded.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import forgeline.testing.fake_github_shapes as shapes
from forgeline.testing.fake_github_shapes import ApiRequest, Failure, FakeRepo
from forgeline.testing.fake_oauth import FakeOAuth
from forgeline.testing.git_http import GitHttpLog, is_git_request, serve_git
from forgeline.testing.loopback import LoopbackServer

__all__ = ["API_PREFIX", "ApiRequest", "Failure", "FakeGitHub", "FakeRepo"]

API_PREFIX = "/api/v3"
TOKEN_USER = "x-access-token"  # noqa: S105 (GitHub's user name for token auth)
Json = Any


class FakeGitHub:
    """The fake; use as a context manager. Not thread-safe to configure while serving."""

    def __init__(self, root: Path, *, app_id: str = "4242", token_ttl_s: float = 3600) -> None:
        self.root = root
        self.app_id = app_id
        self.token_ttl_s = token_ttl_s
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.static_tokens: set[str] = set()
        self.tokens: dict[str, tuple[int, float]] = {}
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[ApiRequest] = []
        self.failures: list[Failure] = []
        self.git_log = GitHttpLog()
        self.oauth = FakeOAuth()
        self.lock = threading.RLock()
        self._server: LoopbackServer | None = None

    # -- configuration -------------------------------------------------------------------

    def private_key_pem(self) -> bytes:
        """The App's private key, PEM (for `FORGELINE_GITHUB_PRIVATE_KEY_FILE`)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    def add_repo(self, owner: str, name: str, seed: Path) -> str:
        """Serve a bare clone of `seed` as `owner/name`; returns its clone URL."""
        target = self.root / owner / f"{name}.git"
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(seed), str(target)],
            check=True,
            capture_output=True,
        )
        number = len(self.repos) + 1
        repo = FakeRepo(owner=owner, name=name, id=1000 + number, installation=500 + number)
        self.repos[repo.full_name] = repo
        return f"{self.base_url}/{owner}/{name}.git"

    def add_review_comment(
        self, full_name: str, number: int, *, path: str, line: int, body: str, user: str = "octo"
    ) -> dict[str, Json]:
        """A reviewer's comment on a pull request's diff."""
        with self.lock:
            repo = self.repos[full_name]
            pull = self._pull(repo, number)
            return self._new_comment(repo, pull, path=path, line=line, body=body, user=user)

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        body: Json,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` `method` requests whose path matches the regex `path`."""
        self.failures.append(Failure(method, re.compile(path), status, body, headers or {}, times))

    def expire_tokens(self) -> None:
        """Make every issued installation token invalid (GitHub then answers 401)."""
        with self.lock:
            self.tokens.clear()

    # -- serving -------------------------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self._server = LoopbackServer(_handler(self))
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (`FORGELINE_GITHUB_URL`)."""
        assert self._server is not None, "the fake is not started"
        return self._server.base_url

    @property
    def api_url(self) -> str:
        """The REST API's base (`FORGELINE_GITHUB_API_URL`)."""
        return self.base_url + API_PREFIX

    def authorize_git(self, user: str, password: str, path: str) -> bool:
        """Git over HTTP: `x-access-token` with a live token for the repository."""
        parts = [p for p in path.split("/") if p]
        full_name = f"{parts[0]}/{parts[1].removesuffix('.git')}" if len(parts) >= 2 else ""
        return user == TOKEN_USER and self._token_allows(password, full_name)

    def _token_allows(self, token: str, full_name: str) -> bool:
        with self.lock:
            if token in self.static_tokens:
                return full_name in self.repos
            issued = self.tokens.get(token)
            repo = self.repos.get(full_name)
        return (
            issued is not None
            and repo is not None
            and issued[0] == repo.installation
            and (issued[1] > time.time())
        )

    # -- the REST API --------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], auth: str, body: Json
    ) -> tuple[int, Json, dict[str, str]]:
        """Answer one REST request: (status, JSON body, extra headers)."""
        injected = self._injected(method, path)
        if injected is not None:
            return injected.status, injected.body, injected.headers
        if path == "/user":
            login = self.oauth.user_of(_bearer(auth) or "")
            if login is None:
                return 401, {"message": "Bad credentials", "documentation_url": shapes.DOCS}, {}
            return 200, {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}, {}
        if path.startswith("/app/") or path.endswith("/installation"):
            return self._app_route(method, path, auth)
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        repo = self.repos.get(f"{match.group(1)}/{match.group(2)}") if match else None
        if match is None or repo is None:
            return 404, shapes.not_found(), {}
        if not self._token_allows(_bearer(auth) or "", repo.full_name):
            return 401, {"message": "Bad credentials", "documentation_url": shapes.DOCS}, {}
        with self.lock:
            return self._repo_route(method, repo, match.group(3) or "", query, body)

    def _injected(self, method: str, path: str) -> Failure | None:
        with self.lock:
            for failure in self.failures:
                if failure.times > 0 and failure.method == method and failure.path.search(path):
                    failure.times -= 1
                    return failure
        return None

    def _app_route(self, method: str, path: str, auth: str) -> tuple[int, Json, dict[str, str]]:
        if not self._valid_jwt(_bearer(auth) or ""):
            return (
                401,
                {
                    "message": "A JSON web token could not be decoded",
                    "documentation_url": shapes.DOCS,
                },
                {},
            )
        installation = re.fullmatch(r"/repos/([^/]+/[^/]+)/installation", path)
        if method == "GET" and installation:
            repo = self.repos.get(installation.group(1))
            if repo is None:
                return 404, shapes.not_found(), {}
            return 200, shapes.installation_json(repo, self.app_id), {}
        issue = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if method == "POST" and issue:
            return self._issue_token(int(issue.group(1)))
        return 404, shapes.not_found(), {}

    def _valid_jwt(self, token: str) -> bool:
        try:
            claims = jwt.decode(
                token, self.key.public_key(), algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"]},
            )  # fmt: skip
        except jwt.PyJWTError:
            return False
        return str(claims["iss"]) == self.app_id

    def _issue_token(self, installation: int) -> tuple[int, Json, dict[str, str]]:
        if installation not in {r.installation for r in self.repos.values()}:
            return 404, shapes.not_found(), {}
        token = "ghs_" + secrets.token_hex(18)
        expires = time.time() + self.token_ttl_s
        with self.lock:
            self.tokens[token] = (installation, expires)
        body = {
            "token": token,
            "expires_at": shapes.iso(expires),
            "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
            "repository_selection": "selected",
        }
        return 201, body, {}

    def _repo_route(
        self, method: str, repo: FakeRepo, rest: str, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json, dict[str, str]]:
        if rest == "/pulls" and method == "GET":
            return 200, self._list_pulls(repo, query), {}
        if rest == "/pulls" and method == "POST":
            return self._create_pull(repo, body)
        one = re.fullmatch(r"/pulls/(\d+)(/comments)?", rest)
        pull = self._find_pull(repo, int(one.group(1))) if one else None
        if one is None or pull is None:
            return 404, shapes.not_found(), {}
        if one.group(2) and method == "GET":
            return 200, [c for c in repo.comments if c["_pull"] == pull["number"]], {}
        if one.group(2) and method == "POST":
            return self._reply(repo, pull, body)
        if method == "PATCH":
            pull.update({k: v for k, v in body.items() if k in ("body", "title", "state")})
            pull["updated_at"] = shapes.iso(time.time())
        return 200, pull, {}

    def _list_pulls(self, repo: FakeRepo, query: dict[str, list[str]]) -> list[Json]:
        head = query.get("head", [""])[0]
        state = query.get("state", ["open"])[0]
        return [
            p for p in repo.pulls
            if (not head or p["head"]["label"] == head) and (state == "all" or p["state"] == state)
        ]  # fmt: skip

    def _create_pull(self, repo: FakeRepo, body: Json) -> tuple[int, Json, dict[str, str]]:
        head, base = str(body.get("head", "")), str(body.get("base", ""))
        label = head if ":" in head else f"{repo.owner}:{head}"
        if any(p["head"]["label"] == label and p["state"] == "open" for p in repo.pulls):
            message = f"A pull request already exists for {label}."
            return (
                422,
                shapes.invalid([{"resource": "PullRequest", "code": "custom", "message": message}]),
                {},
            )
        sha = self._branch_sha(repo, label.split(":", 1)[1])
        if sha is None or self._branch_sha(repo, base) is None:
            field_ = "head" if sha is None else "base"
            return (
                422,
                shapes.invalid([{"resource": "PullRequest", "field": field_, "code": "invalid"}]),
                {},
            )
        pull = shapes.pull_json(
            repo, body, base_url=self.base_url, api_url=self.api_url, label=label, sha=sha
        )
        repo.pulls.append(pull)
        return 201, pull, {}

    def _branch_sha(self, repo: FakeRepo, branch: str) -> str | None:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.root / repo.owner / f"{repo.name}.git", capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout.strip() or None

    def _reply(self, repo: FakeRepo, pull: Json, body: Json) -> tuple[int, Json, dict[str, str]]:
        parent = next((c for c in repo.comments if c["id"] == body.get("in_reply_to")), None)
        if parent is None or not body.get("body"):
            return (
                422,
                shapes.invalid([{"resource": "PullRequestReviewComment", "code": "invalid"}]),
                {},
            )
        comment = self._new_comment(
            repo, pull, path=parent["path"], line=parent["line"], body=body["body"],
            user="forgeline[bot]",
        )  # fmt: skip
        comment["in_reply_to_id"] = parent["id"]
        return 201, comment, {}

    def _new_comment(
        self, repo: FakeRepo, pull: Json, *, path: str, line: int, body: str, user: str
    ) -> dict[str, Json]:
        cid = 9000 + sum(len(r.comments) for r in self.repos.values()) + 1
        html = f"{self.base_url}/{repo.full_name}/pull/{pull['number']}"
        comment = {
            "url": f"{self.api_url}/repos/{repo.full_name}/pulls/comments/{cid}",
            "pull_request_review_id": 7000 + cid, "id": cid, "node_id": f"PRRC_{cid}",
            "diff_hunk": "@@ -1 +1 @@", "path": path, "position": line, "original_position": line,
            "commit_id": pull["head"]["sha"], "original_commit_id": pull["head"]["sha"],
            "user": {"login": user, "id": 1, "type": "User"}, "body": body,
            "created_at": shapes.iso(time.time()), "updated_at": shapes.iso(time.time()),
            "html_url": f"{html}#discussion_r{cid}", "pull_request_url": pull["url"],
            "author_association": "MEMBER", "line": line, "original_line": line,
            "side": "RIGHT", "_pull": pull["number"],
        }  # fmt: skip
        repo.comments.append(comment)
        return comment

    def _pull(self, repo: FakeRepo, number: int) -> Json:
        pull = self._find_pull(repo, number)
        if pull is None:
            raise KeyError(f"no pull request #{number} in {repo.full_name}")
        return pull

    @staticmethod
    def _find_pull(repo: FakeRepo, number: int) -> Json | None:
        return next((p for p in repo.pulls if p["number"] == number), None)


def _bearer(auth: str) -> str | None:
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") and value.strip() else None


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if is_git_request(self.path):
                serve_git(self, root=fake.root, authorize=fake.authorize_git, log=fake.git_log)
                return
            parts = urlsplit(self.path)
            if parts.path.startswith("/login/oauth/"):
                self._oauth(parts.path, parts.query)
                return
            if not parts.path.startswith(API_PREFIX + "/"):
                self._send(404, shapes.not_found(), {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw.strip() else None
            path, query = parts.path[len(API_PREFIX) :], parse_qs(parts.query)
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(ApiRequest(self.command, path, query, headers, body))
            status, data, extra = fake.handle(
                self.command, path, query, self.headers.get("Authorization", ""), body or {}
            )
            self._send(status, data, extra)

        do_POST = do_PATCH = do_GET

        def _oauth(self, path: str, query: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode() if length else query)
            if path == "/login/oauth/authorize":
                target = fake.oauth.authorize(form)
                self.send_response(302 if target else 404)
                self.send_header("Location", target or "")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(200, fake.oauth.exchange(form), {})

        def _send(self, status: int, data: Json, extra: dict[str, str]) -> None:
            payload = json.dumps(shapes.public(data)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in {**shapes.rate_headers(), **extra}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
