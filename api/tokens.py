"""What a service token looks like, shared by the services that make tokens and the
authentication that reads them: the marker it starts with and how it is stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "ppst_"  # noqa: S105  (a marker that says what a leaked string is, not a secret)
# The part of a token kept in clear: "ppst_" and six random characters.
VISIBLE_CHARS = len(TOKEN_PREFIX) + 6


def token_new() -> str:
    """A fresh token's plaintext, shown once and kept by nothing."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(plaintext: str) -> str:
    """What the database keeps of a token: its SHA-256, never the token."""
    return hashlib.sha256(plaintext.encode()).hexdigest()
