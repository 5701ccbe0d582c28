"""Template filters for numbers and dates in the page's language (Persian digits in Persian)."""

from django import template
from django.utils.translation import get_language

from surveys.localise import localise_digits

register = template.Library()


@register.filter
def digits(value: object) -> str:
    return localise_digits(str(value), get_language() or "en")
