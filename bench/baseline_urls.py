"""The app's URLs plus the answer page's baseline: a bare Django view, served by the same gunicorn.

The issue defines the baseline as "a bare Django view that renders a template of the same
size and inserts one row", so both methods insert one row with plain SQL: GET then renders a
template padded to the real page's size (with a CSRF token, as the real form has); POST,
CSRF-checked as the real page is, redirects to a thank-you template padded to the size of
the real last page.
"""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

BASELINE_TABLE = "bench_baseline_answer"
CREATE_BASELINE_TABLE = f"""
    CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} (
        id bigserial PRIMARY KEY, token varchar(64) NOT NULL, score smallint, comment text NOT NULL,
        created_at timestamptz NOT NULL
    )
"""


@require_http_methods(["GET", "POST"])
def baseline_page(request: HttpRequest, token: str) -> HttpResponse:
    score = request.POST.get("score", "") if request.method == "POST" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BASELINE_TABLE} (token, score, comment, created_at) VALUES (%s, %s, %s, %s)",  # noqa: S608 - a constant
            [token, int(score) if score.isdigit() else None, request.POST.get("comment", ""), timezone.now()],
        )
    if request.method == "POST":
        return redirect("bench_baseline_thanks", token=token)
    return render(request, "bench_baseline/page.html")


def baseline_thanks(request: HttpRequest, token: str) -> HttpResponse:
    return render(request, "bench_baseline/thanks.html")


urlpatterns = [
    path("bench-baseline/<str:token>/", baseline_page, name="bench_baseline_page"),
    path("bench-baseline/<str:token>/thanks/", baseline_thanks, name="bench_baseline_thanks"),
    path("", include("config.urls")),
]
