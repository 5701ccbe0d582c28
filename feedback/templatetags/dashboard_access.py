"""Whether the staff top bar offers the numbers (dashboard, reports): only to those they let in."""

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from feedback.insights.dashboard import may_read_numbers

register = template.Library()


@register.filter
def reads_numbers(user: AbstractBaseUser | AnonymousUser) -> bool:
    # Asked once for each link it guards: kept on the request's user, as Django keeps its
    # permission cache there, so a page asks the database once.
    cached: bool | None = getattr(user, "_reads_numbers", None)
    if cached is None:
        cached = may_read_numbers(user)
        user._reads_numbers = cached  # type: ignore[union-attr]  # a cache of ours; neither user class declares it
    return cached
