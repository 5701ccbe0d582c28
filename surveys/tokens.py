import hashlib
import secrets


def new_token(*, short: bool = False) -> str:
    """256 random bits, URL-safe: unguessable, and short enough for an email link.

    `short` gives 128 bits (22 characters), still unguessable, for a link that must
    fit in one SMS beside its text.
    """
    return secrets.token_urlsafe(16 if short else 32)


def hash_token(token: str) -> str:
    # Tokens are random, not passwords: a fast hash is enough and keeps look-ups by index.
    return hashlib.sha256(token.encode()).hexdigest()
