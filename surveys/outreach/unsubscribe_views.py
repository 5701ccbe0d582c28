"""The unsubscribe page behind every survey's link and List-Unsubscribe header.

GET only asks: mail scanners and link previews open every link in an email, and must not
unsubscribe anyone. POST unsubscribes, from the page's button or from the mail client's
RFC 8058 one-click request.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from surveys.branding import brand_colours
from surveys.localise import text_direction
from surveys.models import Channel, Language
from surveys.outreach import suppressions
from surveys.outreach.emails import email_language
from surveys.queries import invitations_with_token


# A one-click POST from a mail client carries no cookie, so no CSRF token; the secret
# token in the URL is what proves the request came from the email.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    # The survey and its reminder carry different tokens; either one unsubscribes.
    invitation = invitations_with_token(token).select_related("shop", "customer").first()
    if invitation is None:
        # One page for a token never issued and one withdrawn: the answer reveals nothing.
        language = translation.get_language_from_request(request)
        return _page(request, "unsubscribe_unknown", language, {}, status=404)
    language = email_language(invitation)
    address = invitation.customer.address_for(invitation.channel)
    context = {
        "shop": invitation.shop,
        "address": address,
        "texts": invitation.channel == Channel.SMS,
        **brand_colours(invitation.shop),
    }
    if request.method == "POST":
        suppressions.unsubscribe(invitation)
        return _page(request, "unsubscribe_done", language, context)
    if suppressions.is_suppressed(invitation.shop, channel=invitation.channel, address=address):
        return _page(request, "unsubscribe_done", language, context)
    return _page(request, "unsubscribe", language, context)


def _page(
    request: HttpRequest, name: str, language: str, context: dict[str, object], *, status: int = 200
) -> HttpResponse:
    language = Language.PERSIAN if language == Language.PERSIAN else Language.ENGLISH
    suffix = f".{language}" if language != Language.ENGLISH else ""
    context = {**context, "lang": language, "dir": text_direction(language)}
    with translation.override(language):
        return render(request, f"surveys/{name}{suffix}.html", context, status=status)
