"""API key format and hashing.

A key is ``lsk_<tenant_id>_<43 random url-safe chars>`` (256 bits). The tenant id in the clear lets
the lookup go straight to a tenant-scoped item; the secret part is stored only as SHA-256 (a
random 256-bit secret needs no slow hash: there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import re
import secrets

_KEY_RE = re.compile(r"^lsk_(t[a-z0-9]{11})_([A-Za-z0-9_-]{43})$")


def mint(tenant_id: str) -> str:
    return f"lsk_{tenant_id}_{secrets.token_urlsafe(32)}"


def parse(key: str) -> str | None:
    """The tenant id a well-formed key belongs to, or None."""
    match = _KEY_RE.match(key)
    return match.group(1) if match else None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
