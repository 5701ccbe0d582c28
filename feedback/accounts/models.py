"""Staff sign-in: failed attempts (for lockout), TOTP two-factor devices with recovery codes, and
each staff member's own settings (the language of their pages).

Models only; the rules live in feedback.accounts.signin. Imported from feedback.models so Django finds
them. They sit in the feedback app because the staff who sign in are the work list's users.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models import Language


class LoginFailure(models.Model):
    """One refused sign-in (wrong password or wrong code). Counted to lock an account or an
    address out for a while; a successful sign-in clears the account's rows."""

    # Lower-cased as typed: an unknown username locks too, so trying names tells nothing.
    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)
    # "password" or "code": which step refused it.
    step = models.CharField(max_length=10, default="password")

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"], name="loginfailure_user_time_idx"),
            models.Index(fields=["ip", "at"], name="loginfailure_ip_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step} refused for {self.username} from {self.ip} at {self.at:%Y-%m-%d %H:%M}"


class TwoFactorDevice(models.Model):
    """A staff member's authenticator app (RFC 6238 TOTP). Unconfirmed until a code from it is
    entered once; only a confirmed device is asked for at sign-in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor")
    # Base32, as authenticator apps take it. It must be readable to check codes, so it is
    # stored as is, like the session keys in the same database.
    secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step a code was accepted for: the same code never works twice.
    last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"two-factor for {self.user}" + ("" if self.confirmed_at else " (not confirmed)")


class RecoveryCode(models.Model):
    """A one-time code for when the phone is lost; only its SHA-256 is stored (the codes carry
    50 random bits, so a fast hash is enough, as for API keys)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="recoverycode_unique_per_user")]

    def __str__(self) -> str:
        return f"recovery code of {self.user}" + (" (used)" if self.used_at else "")


class StaffProfile(models.Model):
    """What a staff member chose for themselves. No row, or a blank language, means the language
    of the first shop they work for (feedback.accounts.staff.language_of)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    language = models.CharField(
        _("language of the staff pages"),
        max_length=2,
        choices=Language.choices,
        blank=True,
        help_text=_("Empty: the shop's language."),
    )

    def __str__(self) -> str:
        return f"settings of {self.user}"
