"""The answer page: the one part of Bazgasht a customer sees.

It lives beside Response (not in surveys) because it creates responses, and
surveys must not depend on feedback.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from feedback import domain
from feedback.forms import AnswerForm
from surveys.models import Invitation

_STATE_TEMPLATES = {
    domain.UnknownInvitation: "feedback/link_unknown.html",
    domain.InvitationExpired: "feedback/link_expired.html",
    domain.AlreadyAnswered: "feedback/already_answered.html",
}


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = domain.invitation_for_token(token)
    except (domain.UnknownInvitation, domain.InvitationExpired, domain.AlreadyAnswered) as state:
        return _state_page(request, state)
    if request.method == "POST":
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                domain.submit_answer(invitation, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"])
            except domain.AlreadyAnswered as state:
                return _state_page(request, state)
            return redirect("answer_thanks", token=token)
    else:
        domain.mark_opened(invitation)
        # A score from the email's buttons is only preselected: mail scanners open every
        # link, so nothing is recorded until the customer sends the form.
        form = AnswerForm(initial={"score": _score_param(request)})
    return render(request, "feedback/answer.html", _page_context(invitation, form=form))


def answer_thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        domain.invitation_for_token(token)
    except domain.AlreadyAnswered:
        return render(request, "feedback/thanks.html")
    except (domain.UnknownInvitation, domain.InvitationExpired) as state:
        return _state_page(request, state)
    return redirect("answer", token=token)


def _state_page(request: HttpRequest, state: domain.DomainError) -> HttpResponse:
    status = 200 if isinstance(state, domain.AlreadyAnswered) else state.status_code
    return render(request, _STATE_TEMPLATES[type(state)], status=status)


def _score_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("score", "")
    return int(raw) if raw.isdigit() and 0 <= int(raw) <= 10 else None


def _page_context(invitation: Invitation, *, form: AnswerForm) -> dict[str, object]:
    return {"invitation": invitation, "shop": invitation.shop, "order": invitation.order, "form": form}
