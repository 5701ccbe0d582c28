"""Staff sign-in pages: username and password, then the two-factor code when it is on, the
page where staff turn two-factor on and off, and the switch of their pages' language. The admin's
login redirects here, so the work list and the admin share one way in (config/urls.py).
"""

import time
from typing import Any
from urllib.parse import urlencode

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from config.security import client_ip, mark_signed_in
from feedback.accounts import signin
from feedback.accounts.models import TwoFactorDevice
from feedback.accounts.staff import choose_language, staff_language, staff_required, staff_user
from surveys.localise import localise_digits
from surveys.models import Language

# The password step is good for this long while the code is asked for.
PENDING_SECONDS = 300
PENDING = "signin_pending"


class StaffSignInForm(AuthenticationForm):
    """Django's form, with a clear message while locked out, and only for staff."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": gettext_lazy("This account has no access to the staff pages."),
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            lock = getattr(self.request, "login_lockout", None)
            if lock is not None:
                minutes = localise_digits(str(lock.minutes), get_language() or "en")
                if lock.scope == "account":
                    message = _(
                        "Too many failed sign-ins for this account. Try again in %(minutes)s minute(s), "
                        "or ask an administrator to unlock it."
                    )
                else:
                    message = _(
                        "Too many failed sign-ins for your network address. Try again in %(minutes)s minute(s), "
                        "or ask an administrator to unlock it."
                    )
                raise ValidationError(message % {"minutes": minutes}, code="locked") from None
            raise

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not getattr(user, "is_staff", False):
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=20,
        label=gettext_lazy("Code"),
        help_text=gettext_lazy("The 6 digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )


def _next_url(request: HttpRequest, fallback: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return fallback


def _complete(request: HttpRequest, user: User, *, backend: str) -> None:
    auth_login(request, user, backend=backend)
    signin.clear_failures(user.get_username())
    mark_signed_in(request)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request, reverse("worklist"))
    if request.user.is_authenticated and request.user.is_staff and request.method == "GET":
        return redirect(next_url)
    form = StaffSignInForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        backend = getattr(user, "backend", "feedback.accounts.signin.LockoutBackend")
        if signin.confirmed_device(user) is None:
            _complete(request, user, backend=backend)
            return redirect(next_url)
        # The password was right; the session remembers that for a few minutes, signed in as nobody.
        request.session.cycle_key()
        request.session[PENDING] = {"user": user.pk, "backend": backend, "at": int(time.time()), "next": next_url}
        return redirect("login_code")
    return render(request, "work/login.html", {"form": form, "next": next_url})


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The admin's login page: ours, coming back to the admin (its index unless `next` says where)."""
    wanted = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('login')}?{urlencode({'next': wanted})}")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    pending: dict[str, Any] = request.session.get(PENDING) or {}
    user = None
    if pending and time.time() - pending["at"] <= PENDING_SECONDS:
        user = User.objects.filter(pk=pending["user"], is_active=True, is_staff=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        messages.info(request, _("Please sign in again."))
        return redirect("login")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        ip = client_ip(request)
        lock = signin.lockout_for(user.get_username(), ip)
        if lock is not None:
            minutes = localise_digits(str(lock.minutes), get_language() or "en")
            form.add_error(
                None, _("Too many failed sign-ins. Try again in %(minutes)s minute(s).") % {"minutes": minutes}
            )
        elif signin.verify_second_factor(user, form.cleaned_data["code"]) is not None:
            request.session.pop(PENDING)
            _complete(request, user, backend=pending["backend"])
            return redirect(pending["next"])
        else:
            signin.record_failure(user.get_username(), ip, step="code")
            form.add_error("code", _("That code is not right (each code works once). Try the next one."))
    status = 200 if not form.errors else 422
    return render(request, "work/two_factor_code.html", {"form": form}, status=status)


@staff_required
@staff_language
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Turn two-factor on (scan, then confirm with a code), get new recovery codes, or turn it off."""
    user = staff_user(request)
    device = TwoFactorDevice.objects.filter(user=user).first()
    form = CodeForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "start":
        if device is None or device.confirmed_at is None:
            signin.start_enrolment(user)
        return redirect("two_factor")
    if request.method == "POST" and form.is_valid() and device is not None:
        code = form.cleaned_data["code"]
        if device.confirmed_at is None and action == "confirm":
            codes = signin.confirm_enrolment(device, code)
            if codes is not None:
                messages.success(request, _("Two-factor sign-in is on."))
                return _page(request, {**context, "device": device, "recovery_codes": codes, "form": CodeForm()})
            form.add_error("code", _("That code is not right. Check the phone's clock and try the newest code."))
        elif device.confirmed_at is not None and action in ("off", "codes"):
            if signin.verify_second_factor(user, code) is None:
                signin.record_failure(user.get_username(), client_ip(request), step="code")
                form.add_error("code", _("That code is not right (each code works once)."))
            elif action == "off":
                signin.turn_off(user)
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("two_factor")
            else:
                codes = signin.new_recovery_codes(user)
                return _page(request, {**context, "device": device, "recovery_codes": codes, "form": CodeForm()})
    return _page(request, {**context, "device": device}, status=422 if form.errors else 200)


def _page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    device: TwoFactorDevice | None = context.get("device")
    if device is not None and device.confirmed_at is None:
        # The secret is shown only until it is confirmed; after that no page shows it again.
        uri = signin.provisioning_uri(device)
        context["otpauth_uri"] = uri
        context["secret_groups"] = " ".join(device.secret[i : i + 4] for i in range(0, len(device.secret), 4))
        # An inline SVG (markup, not script), so the strict Content-Security-Policy allows it.
        svg = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for your authenticator app"))
        context["qr_svg"] = mark_safe(svg)  # noqa: S308 - generated by segno from our own URI
    elif device is not None:
        context["codes_left"] = signin.recovery_codes_left(device.user)
    return render(request, "work/two_factor.html", context, status=status)


@require_POST
@staff_required
def staff_language_switch(request: HttpRequest) -> HttpResponse:
    """The header's language switch: the staff member's pages in English, Persian or their shop's language."""
    language = request.POST.get("language", "")
    if language in ("", *Language.values):
        choose_language(staff_user(request), language)
    return redirect(_next_url(request, reverse("worklist")))
