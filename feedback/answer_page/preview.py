"""The admin's live preview: the answer page for the survey being edited, before it is saved.

It lives here, not in surveys.admin, because it renders the answer page and surveys must not
depend on feedback. It reads the survey admin's own form and question formset, so the preview
shows exactly what saving would store.
"""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods

from feedback.answer_page.answering import Link
from feedback.answer_page.forms import QuestionsForm
from feedback.answer_page.views import render_survey_page
from feedback.models import Answer
from surveys.models import Customer, Invitation, Language, Order, Question, Shop, Survey


@xframe_options_sameorigin
@staff_member_required
@require_http_methods(["GET", "POST"])
def survey_preview(request: HttpRequest) -> HttpResponse:
    """GET: a saved survey as it is. POST: the survey admin's form as it is being edited.

    Query: survey (id, when editing one), lang (en/fa), step (1: the score, 2: the follow-ups)
    and score (which band's follow-ups step 2 shows).
    """
    survey_admin = admin.site.get_model_admin(Survey)
    survey_id = request.GET.get("survey", "")
    saved = survey_admin.get_object(request, survey_id) if survey_id else None
    if survey_id and saved is None:
        raise Http404("no such survey among yours")
    allowed = (
        survey_admin.has_view_or_change_permission(request, saved)
        if saved
        else survey_admin.has_add_permission(request)
    )
    if not allowed:
        raise PermissionDenied

    if request.method == "POST":
        survey, questions = _edited(request, survey_admin, saved)
    elif saved is not None:
        survey, questions = saved, list(saved.questions.all())
    else:
        survey, questions = Survey(), []

    asked = request.GET.get("lang", "")
    language = asked if asked in Language.values else Language.ENGLISH
    shop = survey.shop if survey.shop_id else Shop(name="Your shop")
    invitation = Invitation(shop=shop, survey=survey, order=Order(external_id="1001"), customer=Customer())
    link = Link(invitation=invitation, questions=questions)
    lead = link.lead
    step = 2 if request.GET.get("step") == "2" or lead is None else 1
    if lead is not None:
        scale = lead.scale
        assert scale is not None
        raw = request.GET.get("score", "")
        score = int(raw) if raw.isdigit() and int(raw) in scale else scale.stop - 1
        if step == 2:
            link.answers = {lead.pk: Answer(question=lead, score=score)}
    shown = link.later_questions() if step == 2 or lead is None else [lead]
    form = QuestionsForm(shown, language=language)
    return render_survey_page(request, link, form, language=language, step=step)


def _edited(
    request: HttpRequest, survey_admin: admin.ModelAdmin, saved: Survey | None
) -> tuple[Survey, list[Question]]:
    """The survey and its questions from the admin's unsaved form; rows with mistakes are left out."""
    survey_form = survey_admin.get_form(request, saved, change=saved is not None)(
        request.POST, instance=saved or Survey()
    )
    survey_form.is_valid()  # fills the instance with every field that is valid
    survey = survey_form.instance
    question_inline = next(
        inline for inline in survey_admin.get_inline_instances(request, saved) if inline.model is Question
    )
    formset_class = question_inline.get_formset(request, saved)
    formset = formset_class(request.POST, instance=survey, prefix=formset_class.get_default_prefix())
    questions = []
    for number, form in enumerate(formset.forms, start=1):
        if form.instance.pk is None and not form.has_changed():
            continue  # an empty extra row
        if not form.is_valid() or form.cleaned_data.get("DELETE"):
            continue
        question = form.instance
        if question.pk is None:
            question.pk = -number  # field names need an id; this one is never saved
        questions.append(question)
    questions.sort(key=lambda question: (question.position, question.pk))
    return survey, questions
