"""The pages of feedback: the answer page (/s/), the admin's preview, sign-in and two-factor, the
work list (/cases/), the dashboard and the CSV downloads."""

from django.contrib.auth.views import LogoutView
from django.urls import path, reverse_lazy

from feedback.accounts import views as signin_views
from feedback.answer_page import preview, views
from feedback.casework import worklist
from feedback.insights import dashboard, export_views

urlpatterns = [
    path("s/<str:token>/", views.answer, name="answer"),
    path("s/<str:token>/more/", views.answer_more, name="answer_more"),
    path("s/<str:token>/thanks/", views.answer_thanks, name="answer_thanks"),
    path("s/<str:token>/seen/", views.answer_seen, name="answer_seen"),
    path("preview/survey/", preview.survey_preview, name="survey_preview"),
]

# The support team's work list (feedback/casework/worklist.py) and the staff login it sends people to.
urlpatterns += [
    # Staff sign in here for the admin too (feedback/accounts/views.py): lockout and two-factor.
    path("login/", signin_views.sign_in, name="login"),
    path("login/code/", signin_views.sign_in_code, name="login_code"),
    path("account/two-factor/", signin_views.two_factor, name="two_factor"),
    path("account/language/", signin_views.staff_language_switch, name="staff_language"),
    path("logout/", LogoutView.as_view(next_page=reverse_lazy("login")), name="logout"),
    path("cases/", worklist.queue_page, name="worklist"),
    path("cases/search/", worklist.search_cases, name="worklist_search"),
    path("cases/assign/", worklist.assign_cases, name="cases_assign"),
    path("cases/<int:case_id>/", worklist.case_page, name="case"),
    path("cases/<int:case_id>/claim/", worklist.claim_case, name="case_claim"),
    path("cases/<int:case_id>/note/", worklist.add_note, name="case_note"),
    path("cases/<int:case_id>/reply/", worklist.reply, name="case_reply"),
    path("cases/<int:case_id>/status/", worklist.change_status, name="case_status"),
    path("cases/<int:case_id>/assign/", worklist.assign_case, name="case_assign"),
    path("cases/<int:case_id>/resolve/", worklist.resolve, name="case_resolve"),
]

# CSV downloads for a shop's managers (feedback/insights/export_views.py); the API has the same under /api/v1/exports/.
urlpatterns += [
    path("exports/responses.csv", export_views.responses_csv, name="export_responses"),
    path("exports/cases.csv", export_views.cases_csv, name="export_cases"),
]

# The managers' numbers (feedback/insights/dashboard.py).
urlpatterns += [path("dashboard/", dashboard.dashboard_page, name="dashboard")]
