"""Tokens: random ones for API keys and reminders, stored only as a hash, and the survey link's token
derived from a stored nonce and SECRET_KEY (docs/security.md, Survey links)."""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings


def new_token(*, short: bool = False) -> str:
    """256 random bits, URL-safe: unguessable, and short enough for an email link.

    `short` gives 128 bits (22 characters), still unguessable, for a link that must
    fit in one SMS beside its text.
    """
    return secrets.token_urlsafe(16 if short else 32)


def hash_token(token: str) -> str:
    # Tokens are random, not passwords: a fast hash is enough and keeps look-ups by index.
    return hashlib.sha256(token.encode()).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def link_token(nonce: str, *, short: bool = False) -> str:
    """The survey link's token for an invitation's random nonce: 256 bits (or 128 for SMS).

    Derived, not stored, so a message sent again after a crash carries the same link as
    the copy that may already have arrived; the database keeps only the nonce and the
    token's hash, and the nonce alone is no link without the secret key.
    """
    digest = hmac.new(settings.SECRET_KEY.encode(), f"invitation-link:{nonce}".encode(), hashlib.sha256).digest()
    token = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return token[:22] if short else token
