import hashlib
import secrets


def new_token() -> str:
    """256 random bits, URL-safe: unguessable, and short enough for an email link."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens are random, not passwords: a fast hash is enough and keeps look-ups by index.
    return hashlib.sha256(token.encode()).hexdigest()
