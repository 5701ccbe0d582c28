"""Shops edit surveys in the admin: question texts per language, options, bands, and a live preview."""

import pytest

from surveys.models import Question, Survey
from tests.factories import ShopFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def survey_form(shop, questions=(), **fields):
    """The admin's survey form as a browser sends it, with `questions` as inline rows."""
    data = {
        "shop": shop.pk,
        "name": "After delivery",
        "is_active": "on",
        "heading": "",
        "heading_fa": "",
        "trigger": "fulfilment",
        "delay": "7 00:00:00",
        "valid_for": "30 00:00:00",
        "reminder_after": "",
        "min_order_total": "",
        "include_skus": "",
        "exclude_skus": "",
        "customers": "all",
        "sample_percent": "100",
        "questions-TOTAL_FORMS": str(len(questions)),
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for number, question in enumerate(questions):
        row = {"position": number, "text_fa": "", "options": "", "show_from": "", "show_to": "", "topic": ""}
        row |= question
        data |= {f"questions-{number}-{key}": value for key, value in row.items()}
    return data


def test_a_new_survey_starts_with_the_standard_questions_in_both_languages(client, staff_of):
    shop = ShopFactory()
    client.force_login(staff_of(shop, role="admin"))

    saved = client.post("/admin/surveys/survey/add/", survey_form(shop))

    assert saved.status_code == 302, saved.content.decode()[:2000]
    survey = Survey.objects.get(shop=shop)
    kinds = list(survey.questions.values_list("kind", flat=True))
    assert kinds[0] == "nps"
    assert {"multiple", "comment", "csat", "single"} <= set(kinds)
    assert all(question.text_fa for question in survey.questions.all())


def test_choice_options_are_edited_one_per_line(client, staff_of):
    shop = ShopFactory()
    client.force_login(staff_of(shop, role="admin"))
    rows = [
        {"kind": "nps", "text": "Recommend us?", "required": "on"},
        {"kind": "single", "text": "Fast enough?", "options": "fast | Fast | سریع\r\nToo slow | خیلی کند\r\n\r\n"},
    ]

    client.post("/admin/surveys/survey/add/", survey_form(shop, rows))

    question = Question.objects.get(kind="single")
    assert question.options == [
        {"value": "fast", "en": "Fast", "fa": "سریع"},
        {"value": "too_slow", "en": "Too slow", "fa": "خیلی کند"},
    ]
    page = client.get(f"/admin/surveys/survey/{question.survey_id}/change/").content.decode()
    assert "fast | Fast | سریع\ntoo_slow | Too slow | خیلی کند</textarea>" in page


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"kind": "single", "text": "Which?"}, "A choice question needs at least one option."),
        ({"kind": "multiple", "text": "Which?", "options": "a | A\nb | B\na | Again"}, "repeats the value"),
        ({"kind": "comment", "text": "Why?", "show_from": "7", "show_to": "3"}, "The band must end at or above"),
    ],
    ids=["no-options", "repeated-value", "band-upside-down"],
)
def test_a_question_with_a_mistake_is_refused_and_nothing_is_saved(client, staff_of, row, error):
    shop = ShopFactory()
    client.force_login(staff_of(shop, role="admin"))

    page = client.post("/admin/surveys/survey/add/", survey_form(shop, [row]))

    assert page.status_code == 200
    assert error in page.content.decode()
    assert not Survey.objects.exists()


def test_the_live_preview_renders_unsaved_edits_as_the_customer_would_see_them(client, staff_of):
    survey = SurveyFactory(questions="standard", shop__brand_name="Golden Tea")
    client.force_login(staff_of(survey.shop, role="admin"))
    data = survey_form(survey.shop, [
        {"kind": "nps", "text": "Would you tell a friend about us?", "text_fa": "ما را به دوستتان معرفی می‌کنید؟"},
        {"kind": "comment", "text": "What went wrong?", "show_from": "0", "show_to": "6"},
        {"kind": "comment", "text": "What did you love?", "show_from": "9", "show_to": "10"},
    ])  # fmt: skip

    first = client.post(f"/preview/survey/?survey={survey.pk}&lang=en&step=1", data)
    persian = client.post(f"/preview/survey/?survey={survey.pk}&lang=fa&step=1", data)
    detractor = client.post(f"/preview/survey/?survey={survey.pk}&lang=en&step=2&score=3", data)

    assert first.status_code == 200
    assert "Would you tell a friend about us?" in first.content.decode()
    assert "Golden Tea" in first.content.decode()
    assert 'lang="fa" dir="rtl"' in persian.content.decode()
    assert "ما را به دوستتان معرفی می‌کنید؟" in persian.content.decode()
    assert "What went wrong?" in detractor.content.decode()
    assert "What did you love?" not in detractor.content.decode()
    # A preview saves nothing.
    assert not survey.questions.filter(text__startswith="Would you tell").exists()
    assert first["X-Frame-Options"] == "SAMEORIGIN"


def test_the_saved_survey_previews_without_javascript(client, staff_of):
    survey = SurveyFactory(questions="standard")
    client.force_login(staff_of(survey.shop, role="admin"))

    change_page = client.get(f"/admin/surveys/survey/{survey.pk}/change/").content.decode()
    preview = client.get(f"/preview/survey/?survey={survey.pk}")

    assert f'src="/preview/survey/?survey={survey.pk}"' in change_page
    assert "How likely are you to recommend us" in preview.content.decode()


def test_only_staff_of_the_shop_can_preview_its_survey(client, staff_of):
    survey = SurveyFactory()
    client.force_login(staff_of(ShopFactory(), role="admin"))

    other_shops = client.get(f"/preview/survey/?survey={survey.pk}")
    client.logout()
    anonymous = client.get(f"/preview/survey/?survey={survey.pk}")

    assert other_shops.status_code == 404
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]


def test_only_the_shops_admins_change_its_surveys(client, staff_of):
    survey = SurveyFactory()
    client.force_login(staff_of(survey.shop, role="manager"))

    listing = client.get("/admin/surveys/survey/").content.decode()
    change = client.get(f"/admin/surveys/survey/{survey.pk}/change/")
    preview = client.get(f"/preview/survey/?survey={survey.pk}")

    assert survey.name not in listing
    assert change.status_code == 403  # a manager is no shop admin anywhere: the page is refused
    assert preview.status_code == 404
