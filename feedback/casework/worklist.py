"""The support team's work list: the queue of cases, and one case with everything to work it.

Server-rendered pages that work without JavaScript (static/js/work.js adds the keyboard).
The views only translate between HTTP and feedback.casework.cases: every change goes through it, so
the audit trail is complete, and a change it refuses comes back as a 409 page with the
form as it was sent. A form that does not validate comes back as 422."""

import smtplib
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from config import searches
from feedback.accounts.staff import colleagues_in, display_name, staff_language, staff_required, staff_user
from feedback.casework import cases
from feedback.casework.case_page import (
    AssignForm,
    NoteForm,
    ReplyForm,
    ResolveForm,
    StatusForm,
    answers_of,
    customer_history,
    timeline_of,
)
from feedback.casework.cases import CaseError, cases_of
from feedback.casework.queue import (
    NOBODY,
    PAGE_SIZE,
    SORTS,
    BulkAssignForm,
    QueueFilters,
    answers_prefetch,
    due_of,
    queue,
    queue_summary,
    reason_labels,
    rows_of,
    with_search_text,
)
from feedback.casework.recovery import came_back
from feedback.models import FollowUp
from surveys.queries import shops_of

Status = FollowUp.Status
Priority = FollowUp.Priority


@require_GET
@staff_required
@staff_language
def queue_page(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, request.GET)


# What an agent searches for is personal data, kept out of URLs (`config.searches`): the filter
# form is POSTed here, the URL carries a key to the words, the other filters as they are.
@require_POST
@staff_required
@staff_language
def search_cases(request: HttpRequest) -> HttpResponseRedirect:
    params = request.POST.copy()
    for name in ("csrfmiddlewaretoken", "search", "page"):
        params.pop(name, None)
    text = params.pop("q", [""])[-1].strip()[:100]
    if text:
        params["search"] = searches.remember(request.session, text)
    query = params.urlencode()
    return HttpResponseRedirect(reverse("worklist") + (f"?{query}" if query else ""))


def _queue_page(
    request: HttpRequest,
    params: QueryDict,
    *,
    bulk: BulkAssignForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user, now = staff_user(request), timezone.now()
    shops = list(shops_of(user).order_by("name"))
    colleagues = colleagues_in(shops, me=user)
    with_search, search_forgotten = with_search_text(request, params)
    params = params.copy()
    params.pop("q", None)  # links and `back` carry the search's key, never its text
    filters_form = QueueFilters(with_search, shops=shops, colleagues=colleagues)
    filters = filters_form.values()
    paginator = Paginator(queue(user, filters, now=now), PAGE_SIZE)
    page: Page = paginator.get_page(params.get("page"))
    if bulk is None:
        bulk = BulkAssignForm(user=user, colleagues=colleagues)
    selected = set(request.POST.getlist("cases")) if bulk.is_bound else set()
    context = {
        "filters": filters_form,
        "values": filters,
        "filtered": any(
            filters.get(name)
            for name in ("q", "priority", "owner", "overdue", "reason", "language", "theme", "product")
        )
        or filters["status"] != "active"
        or bool(filters.get("shop")),
        "params": params,
        "sorts": [(value, label) for value, (label, _) in SORTS.items()],
        "sort_label": SORTS[filters["sort"]][1],
        # Where a claim or an assignment returns to: this page of the queue, filters and all.
        "back": params.urlencode(),
        "page": page,
        "rows": rows_of(page.object_list, now=now),
        "summary": queue_summary(user, now=now),
        "several_shops": len(shops) > 1,
        "shops": shops,
        "bulk": bulk,
        "selected": selected,
        "error": error or (_("That search belongs to another session; search again.") if search_forgotten else ""),
    }
    return render(request, "work/queue.html", context, status=status)


@require_POST
@staff_required
@staff_language
def claim_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """Take a case. From the queue, someone else's case is not taken over: two agents a click apart
    would take it from each other. On the case page "Take over" is a deliberate choice."""
    user = staff_user(request)
    from_queue = "back" in request.POST
    with transaction.atomic():
        case = get_object_or_404(cases_of(user).select_for_update(), pk=case_id)
        owner = case.assignee
        if from_queue and owner is not None and owner.pk != user.pk:
            error = _("%(name)s took case #%(case)s first; open it to take it over.") % {
                "name": display_name(owner),
                "case": case.pk,
            }
            return _queue_page(request, _params(request.POST["back"]), error=error, status=409)
        cases.claim(case, by=user)
    messages.success(request, _("Case #%(case)s is yours.") % {"case": case.pk})
    if from_queue:
        return _back_to_queue(request.POST["back"], anchor=f"case-{case.pk}")
    return redirect("case", case_id=case.pk)


@require_POST
@staff_required
@staff_language
def assign_cases(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    back = request.POST.get("back", "")
    colleagues = colleagues_in(shops_of(user), me=user)
    form = BulkAssignForm(request.POST, user=user, colleagues=colleagues)
    if not form.is_valid():
        error = " ".join(str(message) for field_errors in form.errors.values() for message in field_errors)
        return _queue_page(request, _params(back), bulk=form, error=error, status=422)
    chosen = list(form.cleaned_data["cases"])
    to = form.assignee()
    cases.assign(chosen, to=to, by=user)
    if to:
        done = ngettext(
            "%(count)s case assigned to %(name)s.", "%(count)s cases assigned to %(name)s.", len(chosen)
        ) % {"count": len(chosen), "name": display_name(to)}
    else:
        done = ngettext("%(count)s case unassigned.", "%(count)s cases unassigned.", len(chosen)) % {
            "count": len(chosen)
        }
    messages.success(request, done)
    return _back_to_queue(back)


def _params(back: str) -> QueryDict:
    return QueryDict(back[:2000])


def _back_to_queue(back: str, *, anchor: str = "") -> HttpResponseRedirect:
    # Rebuilt from the parsed parameters, so `back` can only ever lead to the queue.
    query = _params(back).urlencode()
    return HttpResponseRedirect(reverse("worklist") + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else ""))


def _case_of(user: User, case_id: int) -> FollowUp:
    found = cases_of(user).select_related(
        "shop", "assignee", "response__customer", "response__survey", "response__invitation__order"
    )
    return get_object_or_404(found.prefetch_related(answers_prefetch()), pk=case_id)


@require_GET
@staff_required
@staff_language
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_page(request, _case_of(staff_user(request), case_id))


def _case_page(
    request: HttpRequest,
    case: FollowUp,
    *,
    bound: dict[str, forms.Form] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user, now = staff_user(request), timezone.now()
    colleagues = colleagues_in([case.shop], me=user)
    bound = bound or {}
    response = case.response
    context = {
        "case": case,
        "shop": case.shop,
        "customer": response.customer,
        "order": response.invitation.order,
        "response": response,
        "answers": answers_of(response),
        "reasons": reason_labels(case.reasons, answers=response.answers.all()),
        "due": due_of(case, now=now),
        "timeline": timeline_of(case),
        "note_form": bound.get("note") or NoteForm(),
        "reply_form": bound.get("reply") or ReplyForm(),
        "status_form": bound.get("status") or StatusForm(case=case),
        "assign_form": bound.get("assign")
        or AssignForm(
            colleagues=colleagues, me=user, initial={"to": str(case.assignee_id) if case.assignee_id else NOBODY}
        ),
        "resolve_form": bound.get("resolve") or ResolveForm(),
        "error": error,
        # Did it work: the customer's first order after the case was closed.
        "returned": came_back(case) if case.resolved_at else None,
        **customer_history(case),
    }
    return render(request, "work/case.html", context, status=status)


def _change(
    request: HttpRequest, case: FollowUp, name: str, form: forms.Form, change: Callable[[dict[str, Any]], str]
) -> HttpResponse:
    """Make a change from a valid form and go back to the case (PRG); or show the form again as sent."""
    if not form.is_valid():
        return _case_page(request, case, bound={name: form}, status=422)
    try:
        done = change(form.cleaned_data)
    except CaseError as refused:
        form.add_error(None, refused.message)
        return _case_page(request, case, bound={name: form}, status=409)
    except (smtplib.SMTPException, OSError) as failed:
        form.add_error(
            None,
            _("The mail server did not take the message (%(error)s); nothing was sent. Try again.") % {"error": failed},
        )
        return _case_page(request, case, bound={name: form}, status=502)
    messages.success(request, done)
    return redirect(reverse("case", kwargs={"case_id": case.pk}) + f"#{name}")


@require_POST
@staff_required
@staff_language
def add_note(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = staff_user(request), _case_of(staff_user(request), case_id)

    def note(data: dict[str, Any]) -> str:
        cases.add_note(case, data["text"], by=user)
        return _("Note added.")

    return _change(request, case, "note", NoteForm(request.POST), note)


@require_POST
@staff_required
@staff_language
def reply(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = staff_user(request), _case_of(staff_user(request), case_id)

    def send(data: dict[str, Any]) -> str:
        cases.reply(case, data["text"], by=user)
        return _("Reply sent to %(email)s.") % {"email": case.response.customer.email}

    return _change(request, case, "reply", ReplyForm(request.POST), send)


@require_POST
@staff_required
@staff_language
def change_status(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = staff_user(request), _case_of(staff_user(request), case_id)

    def move(data: dict[str, Any]) -> str:
        cases.move(case, data["status"], by=user)
        return _("Case is now %(status)s.") % {"status": str(case.get_status_display()).lower()}

    return _change(request, case, "status", StatusForm(request.POST, case=case), move)


@require_POST
@staff_required
@staff_language
def assign_case(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = staff_user(request), _case_of(staff_user(request), case_id)
    form = AssignForm(request.POST, colleagues=colleagues_in([case.shop], me=user), me=user)

    def give(data: dict[str, Any]) -> str:
        to = form.assignee()
        cases.assign([case], to=to, by=user)
        if to is None:
            return _("Case unassigned.")
        return _("Assigned to you.") if to == user else _("Assigned to %(name)s.") % {"name": display_name(to)}

    return _change(request, case, "assign", form, give)


@require_POST
@staff_required
@staff_language
def resolve(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = staff_user(request), _case_of(staff_user(request), case_id)

    def close(data: dict[str, Any]) -> str:
        with transaction.atomic():
            cases.resolve(
                case,
                resolution=data["resolution"],
                goodwill=data["goodwill"],
                goodwill_note=data["goodwill_note"],
                by=user,
            )
            if data["note"].strip():
                cases.add_note(case, data["note"], by=user)
        return _("Case closed: %(outcome)s.") % {"outcome": str(case.get_resolution_display()).lower()}

    return _change(request, case, "resolve", ResolveForm(request.POST), close)
