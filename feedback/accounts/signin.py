"""Staff sign-in rules: lockout after repeated failures, and TOTP two-factor (RFC 6238, by pyotp).

Plain functions over feedback.accounts.models, and the authentication backend (LockoutBackend, below);
the sign-in pages (feedback/accounts/views.py) call them. Both the work list and the admin sign
in through the same pages, so these rules hold for both.
"""

import hashlib
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pyotp
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from pyotp.exceptions import OTPVerificationError

from config.security import client_ip
from feedback.accounts.models import LoginFailure, RecoveryCode, TwoFactorDevice

# --- Lockout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    until: datetime
    # "account" or "address": what is locked, for the message.
    scope: str

    @property
    def minutes(self) -> int:
        return max(1, -(-int((self.until - timezone.now()).total_seconds()) // 60))


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()[:150]


def lockout_for(username: str, ip: str | None, *, now: datetime | None = None) -> Lockout | None:
    """Whether sign-in is refused now for this username or this address, and until when.

    An account is locked after LOGIN_FAILURES_PER_ACCOUNT failures within LOGIN_LOCKOUT_WINDOW,
    an address after LOGIN_FAILURES_PER_IP (any usernames): the lock lifts once the oldest of
    those failures is older than the window. Attempts while locked are not counted, so the lock
    always ends; someone guessing gets at most that many tries per window.
    """
    now = now or timezone.now()
    window: timedelta = settings.LOGIN_LOCKOUT_WINDOW
    since = now - window
    checks = [("account", {"username": normalise_username(username)}, settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if ip:
        checks.append(("address", {"ip": ip}, settings.LOGIN_FAILURES_PER_IP))
    for scope, match, limit in checks:
        recent = LoginFailure.objects.filter(at__gt=since, **match).order_by("-at").values_list("at", flat=True)
        times = list(recent[:limit])
        if len(times) >= limit:
            return Lockout(until=times[-1] + window, scope=scope)
    return None


def record_failure(username: str, ip: str | None, *, step: str = "password") -> None:
    LoginFailure.objects.create(username=normalise_username(username), ip=ip or None, at=timezone.now(), step=step)


def clear_failures(username: str) -> None:
    """A successful sign-in forgets the account's failures (not the address's: one good password
    from an address must not reset the count of another account's guesses there)."""
    LoginFailure.objects.filter(username=normalise_username(username)).delete()


# --- TOTP (RFC 6238), by pyotp -------------------------------------------------------------------

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
# Codes from one step before or after are accepted too: phones' clocks drift.
TOTP_DRIFT_STEPS = 1
TOTP_ISSUER = "Bazgasht"


def _totp(secret: str) -> pyotp.TOTP:
    # SHA-1 is what authenticator apps assume (and pyotp's default); said here so it cannot drift.
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, digest=hashlib.sha1, interval=TOTP_STEP_SECONDS)


def new_totp_secret() -> str:
    """160 random bits in base32 without padding (32 characters), the length RFC 4226 recommends."""
    return pyotp.random_base32(length=32)


def totp_code(secret: str, *, step: int, digits: int = TOTP_DIGITS) -> str:
    """The code for one time step: RFC 4226's HOTP over the step counter, as RFC 6238 defines."""
    return pyotp.HOTP(secret, digits=digits, digest=hashlib.sha1).at(step)


def totp_step(at: float | None = None) -> int:
    """The time step a moment falls in (the counter pyotp's TOTP.timecode gives)."""
    return int((time.time() if at is None else at) // TOTP_STEP_SECONDS)


def _matching_step(secret: str, code: str, *, now: float | None) -> int | None:
    """The step (within the drift) whose code this is, or None. The step, not a yes or no, so the
    callers can refuse a code whose step is not after the last one accepted (pyotp keeps no state)."""
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isdecimal():
        return None
    # Digits typed on a Persian or Arabic keyboard (۱۲۳…) count as the same digits.
    code = "".join(str(unicodedata.decimal(digit)) for digit in code)
    try:
        return _totp(secret).verify_and_get_timecode(code, for_time=now, valid_window=TOTP_DRIFT_STEPS)
    except OTPVerificationError:
        return None


def provisioning_uri(device: TwoFactorDevice, *, issuer: str = TOTP_ISSUER) -> str:
    """The otpauth:// URI authenticator apps read from the QR code ("Bazgasht:username", the
    issuer, the secret; digits, period and algorithm are left out as they are the defaults)."""
    return _totp(device.secret).provisioning_uri(name=device.user.get_username(), issuer_name=issuer)


def confirmed_device(user: User) -> TwoFactorDevice | None:
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def start_enrolment(user: User) -> TwoFactorDevice:
    """A new unconfirmed device with a fresh secret (replacing an unconfirmed one).
    A confirmed device is left alone: it is turned off first."""
    existing = TwoFactorDevice.objects.filter(user=user).first()
    if existing is not None and existing.confirmed_at is not None:
        raise ValueError("two-factor is already on; turn it off first")
    if existing is not None:
        existing.secret = new_totp_secret()
        existing.save(update_fields=["secret"])
        return existing
    return TwoFactorDevice.objects.create(user=user, secret=new_totp_secret())


RECOVERY_CODE_COUNT = 10


def confirm_enrolment(device: TwoFactorDevice, code: str, *, now: float | None = None) -> list[str] | None:
    """Turn two-factor on if `code` comes from the app; the new recovery codes (shown once), or None."""
    step = _matching_step(device.secret, code, now=now)
    if step is None:
        return None
    with transaction.atomic():
        device.confirmed_at = timezone.now()
        device.last_step = step
        device.save(update_fields=["confirmed_at", "last_step"])
        return new_recovery_codes(device.user)


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes like "k7xq2-m4pfa", replacing any earlier ones; only their hashes are kept."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODE_COUNT)]
    codes = [f"{code[:5]}-{code[5:]}" for code in codes]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_recovery_hash(code)) for code in codes)
    return codes


def _recovery_hash(code: str) -> str:
    return hashlib.sha256("".join(code.lower().split()).replace("-", "").encode()).hexdigest()


def verify_second_factor(user: User, code: str, *, now: float | None = None) -> str | None:
    """Check a code from the app, or a recovery code, at sign-in: "totp", "recovery", or None.

    An app code is accepted once (a step at or before the last accepted one is refused, so a
    code seen over a shoulder cannot be replayed); a recovery code is used up.
    """
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        if device is None:
            return None
        step = _matching_step(device.secret, code, now=now)
        if step is not None:
            if step <= device.last_step:
                return None
            device.last_step = step
            device.save(update_fields=["last_step"])
            return "totp"
        used = RecoveryCode.objects.filter(user=user, code_hash=_recovery_hash(code), used_at__isnull=True).update(
            used_at=timezone.now()
        )
        return "recovery" if used else None


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def turn_off(user: User) -> None:
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()


class LockedOutRequest(HttpRequest):
    """A sign-in refused for a lockout: the lock stays on the request for the form's message."""

    login_lockout: Lockout


class LockoutBackend(ModelBackend):
    """Django's username/password check, refused while the account or the address is locked out,
    and counting each wrong password. Every sign-in (work list and admin) goes through here.

    A locked sign-in raises PermissionDenied, which makes django.contrib.auth.authenticate stop
    without trying the password; the lock is left on the request for the form's message.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None or password is None:
            return None
        ip = client_ip(request)
        lock = lockout_for(username, ip)
        if lock is not None:
            if request is not None:
                cast(LockedOutRequest, request).login_lockout = lock
            raise PermissionDenied("sign-in is locked for a while")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username, ip)
        return user
