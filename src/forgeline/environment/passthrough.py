"""The host's package-manager configuration a setup command may see (never a secret).

The sandbox starts every command with a clean environment. Setup needs this machine's
pip and npm configuration (`PIP_INDEX_URL`, `PIP_FIND_LINKS`, `PIP_CERT`, `npm_config_*`),
its CA bundle and proxy, so those are passed through, minus secret-looking names and any
value that carries credentials in a URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from forgeline.sandbox.env import is_secret_name

PREFIXES: tuple[str, ...] = ("PIP_", "NPM_CONFIG_", "UV_")
NAMES = frozenset(
    {
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "PYTHONHTTPSVERIFY",
    }
)
_CREDENTIALS = re.compile(r"://[^/@\s]+@")


def passthrough_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` that setup gets.

    Args:
        environ: The Forgeline process's environment.

    Returns:
        Package-manager, CA and proxy variables without secrets or URL credentials.
    """
    kept: dict[str, str] = {}
    for name, value in environ.items():
        upper = name.upper()
        if not (upper.startswith(PREFIXES) or upper in NAMES):
            continue
        if is_secret_name(name) or "AUTH" in upper or _CREDENTIALS.search(value):
            continue
        kept[name] = value
    return kept
