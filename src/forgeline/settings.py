"""The one settings class. Read from `FORGELINE_*` environment variables; no side effects."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ModelPrice(BaseModel):
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


def _split_paths(value: object) -> object:
    """`FORGELINE_SANDBOX_PATHS=/a:/b` (like `PATH`) or a JSON list; each path absolute."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else text.split(os.pathsep)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list of paths ({exc})") from None
    if not isinstance(value, list | tuple):
        return value
    items = [str(item).strip() for item in value]
    bad = [item for item in items if item and (not os.path.isabs(item) or os.pathsep in item)]
    if bad:
        raise ValueError(
            f"sandbox paths must be absolute, without '{os.pathsep}': {', '.join(bad)}"
        )
    return tuple(item for item in items if item)


class Settings(BaseSettings):
    """Forgeline's configuration. Every field maps to `FORGELINE_<NAME>`.

    Sandbox settings (DESIGN §11), applied to every agent's `Bash`:

    - `sandbox_paths` (`FORGELINE_SANDBOX_PATHS`): extra toolchain directories made
      visible read-only, even inside a hidden directory such as `$HOME` (e.g.
      `/root/.pyenv/versions/3.12.4:/root/.rustup`). Colon-separated, or a JSON list.
    - `sandbox_path_entries` (`FORGELINE_SANDBOX_PATH_ENTRIES`): directories put first on
      the command's `PATH` (and made visible read-only too), e.g.
      `/root/.pyenv/versions/3.12.4/bin`. A `bin` directory alone is rarely enough:
      list the toolchain's root in `sandbox_paths` as well.
    - `sandbox_memory_mb` (`FORGELINE_SANDBOX_MEMORY_MB`): address space per process.
    - `sandbox_pids` (`FORGELINE_SANDBOX_PIDS`): most processes and threads at once.
    """

    model_config = SettingsConfigDict(
        env_prefix="FORGELINE_", extra="ignore", use_attribute_docstrings=True
    )

    home: Path = Field(default_factory=lambda: Path.home() / ".forgeline")
    """Where workspaces, the SQLite database, environments, caches and your agents live."""
    database_url: str | None = None
    """SQLAlchemy URL of a PostgreSQL database (`postgresql+psycopg://...`); unset: SQLite."""
    redis_url: str | None = None
    """Redis URL for events across processes (`redis://127.0.0.1:6379`); unset: in-process."""
    model: str | None = None
    """The default model, `provider:model`; unset: `anthropic:claude-sonnet-4-5` with a key."""
    sandbox: Literal["on", "off"] = "on"
    """`off` runs commands without bubblewrap (only where it cannot run; logged loudly)."""
    allow_network: bool = False
    """Let every project's sandboxed commands use the network (`--allow-network` per run)."""
    api_token: SecretStr | None = None
    """Token every request needs (bearer header, or the sign-in page); needed off loopback."""
    allowed_hosts: str = ""
    """Extra names the server answers to besides its bound address and loopback (comma-separated;
    `*.example.com` matches subdomains, `*` any name). DNS rebinding defence."""
    allow_scripted: bool = False
    """Whether a model given through the API or a form may be `scripted:` (a path the server
    reads)."""
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """USD per million tokens by model name (JSON: `{"openai:m": {"input": 1, "output": 2}}`)."""
    context_windows: dict[str, int] = Field(default_factory=dict)
    """Context windows in tokens by model name (JSON, e.g. `{"openai:llama3": 8192}`); they win
    over the built-in table."""
    overwatcher_model: str | None = None
    """The review, security, test and documentation agents' model (an agent file's `model`
    still wins); unset: the project's model."""
    max_cost_usd: float | None = Field(default=None, gt=0)
    """A new project's budget in USD when none is given (`--max-cost`, `max_cost_usd`)."""
    max_gate_rounds: int = 3
    """Most rounds of the final gate before the run fails with its blockers."""
    submodules: bool = True
    """Initialise a repository's submodules right after the clone (`0`: not)."""
    commit_author_name: str = "Forgeline"
    """Author name of checkpoint commits."""
    commit_author_email: str = "forgeline@localhost"
    """Author e-mail of checkpoint commits."""
    commit_template: str = (
        "{subject}\n\nFiles changed:\n{files}\n\nForgeline ({agent} agent): {request}\n"
    )
    """Checkpoint commit messages; fields: {subject}, {files}, {request}, {agent}."""
    bash_default_timeout_ms: int = 120_000
    """A `Bash` command's time limit when the agent gives none."""
    bash_max_timeout_ms: int = 600_000
    """The longest time limit an agent may ask for a `Bash` command."""
    max_tool_output_chars: int = 30_000
    """Most characters of a tool's output given back to the model."""
    setup_timeout_s: float = Field(default=900.0, gt=0)
    """Time limit of a repository's setup."""
    setup_python: str | None = None
    """The interpreter a detected Python setup uses; unset: the system's `python3`."""
    cache_dir: Path | None = None
    """Root of the pip and npm caches, one per repository origin; unset: `$FORGELINE_HOME/cache`."""
    sse_keepalive_s: float = 15.0
    """Seconds of silence before an SSE keep-alive (and the idle check that ends a stream)."""
    github_url: str = "https://github.com"
    """Repositories whose URL starts with this are on GitHub."""
    github_api_url: str = "https://api.github.com"
    """GitHub's REST API (GitHub Enterprise Server: `https://HOST/api/v3`)."""
    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("FORGELINE_GITHUB_TOKEN", "GITHUB_TOKEN")
    )
    """A GitHub token with Contents and Pull requests read and write."""
    github_app_id: str | None = None
    """A GitHub App's id, for per-installation tokens instead of a token."""
    github_private_key_file: Path | None = None
    """The GitHub App's private key (`.pem`)."""
    github_webhook_secret: SecretStr | None = None
    """The secret `POST /webhooks/github` checks `X-Hub-Signature-256` against."""
    github_client_id: str | None = None
    """OAuth client id for "Sign in with GitHub"."""
    github_client_secret: SecretStr | None = None
    """OAuth client secret for "Sign in with GitHub"."""
    github_commit_as_user: bool = False
    """Commits of a project made by a user signed in with GitHub are authored as that user."""
    github_max_wait_s: float = 120.0
    """Longest wait for a GitHub rate limit to reset before the call fails."""
    sandbox_paths: Annotated[tuple[Path, ...], NoDecode] = ()
    """Toolchain directories shown read-only in the sandbox, even under a hidden `$HOME`
    (colon-separated, or a JSON list)."""
    sandbox_path_entries: Annotated[tuple[Path, ...], NoDecode] = ()
    """Directories put first on a sandboxed command's `PATH` (and shown read-only)."""
    sandbox_memory_mb: int = Field(default=4096, ge=64)
    """Address space per sandboxed process, in MB."""
    sandbox_pids: int = Field(default=256, ge=8)
    """Most processes and threads of a sandboxed command at once."""
    sandbox_network_ports: str = Field(default="53,80,443", pattern=r"^(all|\d{1,5}(,\d{1,5})*)$")
    """With the network on (setup, --allow-network), the only TCP ports a sandboxed command may
    connect to (Landlock): comma-separated, or `all` (the host's loopback services included)."""

    @field_validator("sandbox_paths", "sandbox_path_entries", mode="before")
    @classmethod
    def _sandbox_paths(cls, value: object) -> object:
        return _split_paths(value)

    @property
    def network_ports(self) -> tuple[int, ...] | None:
        """`sandbox_network_ports` as port numbers; None for `all`."""
        if self.sandbox_network_ports == "all":
            return None
        return tuple(int(port) for port in self.sandbox_network_ports.split(","))

    @property
    def workspaces_dir(self) -> Path:
        return self.home / "workspaces"

    @property
    def allowed_host_names(self) -> frozenset[str]:
        """`allowed_hosts` as lower-case names."""
        names = (name.strip().lower().rstrip(".") for name in self.allowed_hosts.split(","))
        return frozenset(name for name in names if name)

    @property
    def shared_cache_dir(self) -> Path:
        """The package caches shared by every project's setup (`FORGELINE_CACHE_DIR`)."""
        return self.cache_dir or self.home / "cache"

    @property
    def agents_dir(self) -> Path:
        return self.home / "agents"

    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL of the application database."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'forgeline.db'}"
