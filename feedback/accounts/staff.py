"""Staff access: pages for signed-in staff only, the colleagues a user shares a shop with, and
how a person is named on the pages."""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from surveys.models import Shop

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
