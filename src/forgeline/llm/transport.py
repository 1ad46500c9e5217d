"""HTTP plumbing shared by the providers.

Providers open a fresh SDK client for every call (and close it afterwards), so a
model object is never tied to one event loop. Building the TLS context is the slow
part of making a client (tens of milliseconds: it loads the CA bundle), so one
context is built on first use and shared; `SSLContext` objects are safe to share.
"""

from __future__ import annotations

import functools
import ssl

import httpx2


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every provider client uses (the same CA and proxy rules as httpx2)."""
    return httpx2.create_ssl_context()
