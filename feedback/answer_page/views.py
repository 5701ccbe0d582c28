"""The answer page: the one part of Bazgasht a customer sees.

It lives beside Response (not in surveys) because it creates responses, and
surveys must not depend on feedback. The views only translate between HTTP and
feedback.answer_page.answering; every rule lives there.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from config.security import client_address
from feedback.answer_page import answering
from feedback.answer_page.answering import Link
from feedback.answer_page.forms import QuestionsForm, initial_values
from surveys.branding import brand_colours
from surveys.localise import format_deadline, text_direction
from surveys.models import Language
from surveys.ratelimit import hit

_STATE_TEMPLATES: dict[type[answering.DomainError], str] = {
    answering.UnknownInvitation: "feedback/link_unknown.html",
    answering.InvitationExpired: "feedback/link_expired.html",
    answering.Unsubscribed: "feedback/link_unsubscribed.html",
    answering.AnswerFinal: "feedback/answer_final.html",
}
_LINK_STATES = tuple(_STATE_TEMPLATES)
View = Callable[..., HttpResponse]


def rate_limited(view: View) -> View:
    """Per client address on every request, per link on every form sent."""

    @wraps(view)
    def limited(request: HttpRequest, token: str) -> HttpResponse:
        address = client_address(request, proxy_hops=settings.TRUSTED_PROXY_HOPS)
        verdict = hit("answer-ip", address, rate=settings.ANSWER_RATE_LIMIT_PER_IP)
        if verdict.allowed and request.method == "POST":
            verdict = hit("answer-link", token[:64], rate=settings.ANSWER_RATE_LIMIT_PER_TOKEN)
        if not verdict.allowed:
            language = _asked_language(request) or _browser_language(request)
            response = _render(request, "feedback/too_many.html", {}, language=language, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        return view(request, token)

    return limited


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The first step: the lead question, with the email's one-click score preselected."""
    try:
        link = answering.open_link(token)
    except _LINK_STATES as state:
        return _state_page(request, state)
    language = _language(request, link)
    lead = link.lead
    if lead is None:
        return _go(request, "answer_more", token)
    if request.method == "POST":
        form = QuestionsForm([lead], language=language, data=request.POST)
        if form.is_valid():
            score = form.values()[lead.pk]
            assert isinstance(score, int)
            finish = not link.later_questions(score)
            try:
                with translation.override(language):  # messages of a refused answer in the customer's language
                    answering.save_answers(link, {lead.pk: score}, language=language, finish=finish)
            except answering.InvalidAnswer as error:
                form.add_error(None, str(error))
            else:
                return _go(request, "answer_thanks" if finish else "answer_more", token)
        return _page(request, link, form, language=language, step=1, status=422)

    one_click = _score_param(request, lead.scale)
    if link.response is not None and not link.is_complete and one_click is None and "change" not in request.GET:
        # Reopening a half-answered survey resumes where the customer left off.
        return _go(request, "answer_more", token)
    # The email's score buttons only preselect: mail scanners open every link, so nothing
    # counts until the customer confirms it here.
    initial = initial_values(link, [lead])
    if one_click is not None:
        initial[f"q{lead.pk}"] = one_click
    form = QuestionsForm([lead], language=language, initial=initial)
    return _page(request, link, form, language=language, step=1)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited
def answer_more(request: HttpRequest, token: str) -> HttpResponse:
    """The second step: follow-ups for the score's band and the optional questions."""
    try:
        link = answering.open_link(token)
    except _LINK_STATES as state:
        return _state_page(request, state)
    language = _language(request, link)
    if link.lead is not None and link.lead_score is None:
        return _go(request, "answer", token)
    questions = link.later_questions()
    if request.method == "POST":
        autosave = request.headers.get("X-Autosave") == "1"
        form = QuestionsForm(questions, language=language, data=request.POST, required=not autosave)
        if form.is_valid():
            try:
                with translation.override(language):
                    answering.save_answers(link, form.values(), language=language, finish=not autosave)
            except answering.InvalidAnswer as error:
                form.add_error(None, str(error))
            else:
                if autosave:
                    return JsonResponse({"saved": True})
                return _go(request, "answer_thanks", token)
        if autosave:
            return JsonResponse({"saved": False, "errors": form.errors.get_json_data()}, status=422)
        return _page(request, link, form, language=language, step=2, status=422)
    form = QuestionsForm(questions, language=language, initial=initial_values(link, questions))
    return _page(request, link, form, language=language, step=2)


@require_POST
@rate_limited
def answer_seen(request: HttpRequest, token: str) -> HttpResponse:
    """A person acted on the answer page (a tap, a click, a key): the survey is opened.

    Opening the link is not enough: mail scanners fetch every link in an email, and some run
    its scripts, but none taps or types. The reminder goes to whoever has not opened it so.
    """
    try:
        link = answering.open_link(token)
    except _LINK_STATES:
        return HttpResponse(status=204)  # nothing to open; the page the person sees says why
    answering.mark_opened(link.invitation)
    return HttpResponse(status=204)


@never_cache
@require_http_methods(["GET", "HEAD"])
@rate_limited
def answer_thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = answering.open_link(token)
    except _LINK_STATES as state:
        return _state_page(request, state)
    if link.response is None:
        return _go(request, "answer", token)
    language = _language(request, link)
    shop = link.invitation.shop
    lead, score = link.lead, link.lead_score
    mood = lead.mood(score) if lead is not None and score is not None else "neutral"
    # A 10 who rated the delivery 1/5 is someone to call back, not to send to a review site.
    flagged = answering.needs_follow_up(link.response)
    asked_to_share = mood == "happy" and not flagged
    context = {
        "mood": mood,
        "review_url": shop.review_url if asked_to_share else "",
        "referral_url": shop.referral_url if asked_to_share else "",
        "will_contact": (mood == "unhappy" or flagged) and shop.follow_up_enabled,
        "edit_url": _url("answer", token, language, change=1),
        "editable_until": _deadline(link, language),
    }
    return _render(request, "feedback/thanks.html", _context(link, language) | context, language=language)


# --- Helpers -------------------------------------------------------------------------


def _page(
    request: HttpRequest, link: Link, form: QuestionsForm, *, language: str, step: int, status: int = 200
) -> HttpResponse:
    back_url = _url("answer", token_of(request), language, change=1) if step == 2 and link.lead else ""
    # Until a person has shown themselves, the page asks to be told of their first act (answer.js).
    seen_url = "" if link.invitation.opened_at else reverse("answer_seen", kwargs={"token": token_of(request)})
    # A text message has no unsubscribe link of its own beside its "لغو۱۱": the page it opens offers one.
    stop_url = reverse("unsubscribe", kwargs={"token": token_of(request)}) if link.invitation.channel == "sms" else ""
    return render_survey_page(
        request,
        link,
        form,
        language=language,
        step=step,
        back_url=back_url,
        status=status,
        seen_url=seen_url,
        stop_url=stop_url,
    )


def render_survey_page(
    request: HttpRequest,
    link: Link,
    form: QuestionsForm,
    *,
    language: str,
    step: int,
    back_url: str = "",
    status: int = 200,
    seen_url: str = "",
    stop_url: str = "",
) -> HttpResponse:
    """One step of the survey as the customer sees it (the admin's live preview shows the same)."""
    has_more = step == 2 or bool(link.later_questions(link.lead_score))
    context = _context(link, language) | {
        "form": form,
        "blocks": form.blocks(),
        "step": step,
        "steps": 2 if link.lead is not None and has_more else 1,
        "last_step": step == 2 or not has_more,
        "back_url": back_url,
        "editing": link.is_complete,
        "editable_until": _deadline(link, language) if link.is_complete else "",
        "seen_url": seen_url,
        "stop_url": stop_url,
    }
    return _render(request, "feedback/answer.html", context, language=language, status=status)


def _context(link: Link, language: str) -> dict[str, Any]:
    invitation = link.invitation
    other = Language.ENGLISH if language == Language.PERSIAN else Language.PERSIAN
    return {
        "shop": invitation.shop,
        "order": invitation.order,
        "heading": invitation.survey.heading_in(language),
        "lang": language,
        "dir": text_direction(language),
        "other_language": other,
        "other_language_name": dict(Language.choices)[other] if other == Language.ENGLISH else "فارسی",
        **brand_colours(invitation.shop),
    }


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, language: str, status: int = 200
) -> HttpResponse:
    context.setdefault("lang", language)
    context.setdefault("dir", text_direction(language))
    with translation.override(language):
        response = render(request, template, context, status=status)
    response["Content-Language"] = language
    return response


def _state_page(request: HttpRequest, state: answering.DomainError) -> HttpResponse:
    # A final answer is still a page worth showing; sending a form to it is a conflict.
    status = 200 if isinstance(state, answering.AnswerFinal) and request.method == "GET" else state.status_code
    known = state.language if isinstance(state, answering.LinkClosed) else ""
    language = _asked_language(request) or known or _browser_language(request)
    shop = state.shop if isinstance(state, answering.LinkClosed) else None
    context = {"shop": shop, **brand_colours(shop)} if shop is not None else {}
    return _render(request, _STATE_TEMPLATES[type(state)], context, language=language, status=status)


def _asked_language(request: HttpRequest) -> str | None:
    asked = request.GET.get("lang") or request.POST.get("lang")
    return asked if asked in Language.values else None


def _browser_language(request: HttpRequest) -> str:
    # Set by LocaleMiddleware from Accept-Language: all we know of someone without a valid link.
    language = getattr(request, "LANGUAGE_CODE", "")
    return language if language in Language.values else Language.ENGLISH


def _language(request: HttpRequest, link: Link) -> str:
    """The language the customer asked for, else the one they answered in, else the invitation's."""
    asked = _asked_language(request)
    if asked:
        return asked
    if link.response is not None:
        return link.response.language
    invitation = link.invitation
    language = invitation.customer.language or invitation.shop.default_language
    return language if language in Language.values else Language.ENGLISH


def _deadline(link: Link, language: str) -> str:
    until = link.editable_until
    if until is None or not link.invitation.shop.answer_edit_window:
        return ""
    return format_deadline(until, language, tz=link.invitation.shop.tz)


def _url(name: str, token: str, language: str | None, **params: object) -> str:
    if language:
        params["lang"] = language
    url = reverse(name, kwargs={"token": token})
    return f"{url}?{urlencode(params)}" if params else url


def _go(request: HttpRequest, name: str, token: str) -> HttpResponse:
    # 303: after a form, the browser fetches the next page with GET.
    response = redirect(_url(name, token, _asked_language(request)))
    response.status_code = 303
    return response


def token_of(request: HttpRequest) -> str:
    assert request.resolver_match is not None
    return str(request.resolver_match.kwargs["token"])


def _score_param(request: HttpRequest, scale: range | None) -> int | None:
    raw = request.GET.get("score", "")
    return int(raw) if scale is not None and raw.isdigit() and int(raw) in scale else None
