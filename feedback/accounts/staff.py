"""Staff access: pages for signed-in staff only, in the language each staff member reads, the
colleagues a user shares a shop with, and how a person is named on the pages."""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation

from feedback.accounts.models import StaffProfile
from surveys.models import Language, Membership, Shop

# --- Access --------------------------------------------------------------------------


View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in users who are not staff get a 403."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=reverse("login"))
        if not request.user.is_staff:
            return render(request, "work/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return guarded


def staff_language(view: View) -> View:
    """The page in the staff member's language (their setting, else their shop's); a page for
    someone not signed in stays in the browser's (LocaleMiddleware)."""

    @wraps(view)
    def in_language(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return view(request, *args, **kwargs)
        with translation.override(language_of(user)):
            return view(request, *args, **kwargs)

    return in_language


def language_of(user: User) -> str:
    """The language a staff member's pages are in: their own choice, else the default language of
    the first shop they work for, else English. Asked once per request (kept on the user)."""
    cached: str | None = getattr(user, "_staff_language", None)
    if cached is not None:
        return cached
    chosen = StaffProfile.objects.filter(user=user).values_list("language", flat=True).first()
    if not chosen:
        first_shop = (
            Membership.objects.filter(user=user).order_by("pk").values_list("shop__default_language", flat=True)
        )
        chosen = first_shop.first() or Language.ENGLISH
    user._staff_language = chosen  # type: ignore[attr-defined]  # a cache of ours, as reads_numbers keeps
    return chosen


def choose_language(user: User, language: str) -> None:
    """Keep the staff member's choice; "" goes back to the shop's language."""
    StaffProfile.objects.update_or_create(user=user, defaults={"language": language})
    user.__dict__.pop("_staff_language", None)


def staff_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # staff_required let only signed-in users through
    return request.user


def colleagues_in(shops: Iterable[Shop] | QuerySet[Shop], *, me: User) -> list[User]:
    """Who cases of these shops may go to: their staff, and the user asking (a superuser may be in none)."""
    users = User.objects.filter(Q(is_active=True, is_staff=True, memberships__shop__in=shops) | Q(pk=me.pk))
    return list(users.distinct().order_by("first_name", "last_name", "username"))


def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
