"""Security headers on every kind of page, no inline script anywhere, and `check --deploy` clean."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from feedback.casework.flagging import flag_response
from reports.domain import make_report_now
from surveys.models import Membership
from tests.factories import ResponseFactory, SurveyFactory
from tests.feedback.test_answer_page import sent_invitation

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
# <script> without src (an inline script), JSON data blocks excepted; and on*="..." handlers.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+=\"", re.IGNORECASE)


def directives(response):
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))


@pytest.fixture
def case():
    return flag_response(ResponseFactory(score=1, comment="Late again."))


@pytest.fixture
def admin_of(case):
    user = User.objects.create_superuser("root", password="a-long-test-password")
    Membership.objects.create(user=user, shop=case.shop, role=Membership.Role.ADMIN)
    return user


def test_pages_forbid_inline_and_foreign_scripts_and_framing(client, case, admin_of):
    client.force_login(admin_of)
    pages = ["/login/", "/cases/", f"/cases/{case.pk}/", "/account/two-factor/", "/admin/", "/api/v1/docs"]
    for url in [*pages, "/no-such-page/", "/api/v1/cases"]:  # a 404 and an API answer too
        policy = directives(client.get(url))

        assert policy["script-src"] == "'self'", url
        assert policy["default-src"] == "'self'", url
        assert policy["frame-ancestors"] == "'none'", url
        assert policy["object-src"] == "'none'", url
        assert policy["base-uri"] == "'none'", url


def test_staff_pages_downloads_and_api_answers_are_never_cached(client, api, case, admin_of, tmp_path):
    run = make_report_now(case.shop, month=case.created_at.date())
    client.force_login(admin_of)
    shop = f"?shop={case.shop.slug}"
    urls = ["/cases/", f"/cases/{case.pk}/", "/dashboard/", f"/exports/responses.csv{shop}",
            f"/exports/cases.csv{shop}", "/reports/", f"/reports/{run.pk}/download/", "/admin/"]  # fmt: skip
    for url in urls:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)  # read to the end, which closes a download's file
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url
    for url in ["/api/v1/cases", "/api/v1/exports/responses.csv", "/api/v1/metrics/nps"]:
        assert "no-store" in api.get(url)["Cache-Control"], url


def test_only_the_admins_own_preview_may_be_framed_and_only_by_our_pages(client, admin_of):
    survey = SurveyFactory()
    client.force_login(admin_of)

    preview = client.get(f"/preview/survey/?survey={survey.pk}")

    assert preview.status_code == 200
    assert directives(preview)["frame-ancestors"] == "'self'"
    assert preview["X-Frame-Options"] == "SAMEORIGIN"


def test_no_page_has_an_inline_script_or_event_handler(client, case, admin_of):
    client.force_login(admin_of)
    survey = case.response.survey
    pages = [
        "/cases/",
        f"/cases/{case.pk}/",
        f"/dashboard/?shop={case.shop.slug}",
        "/account/two-factor/",
        "/admin/",
        f"/admin/surveys/survey/{survey.pk}/change/",
        f"/preview/survey/?survey={survey.pk}",
        "/api/v1/docs",
    ]
    client.post("/account/two-factor/", {"action": "start"})  # the QR code page
    for url in pages:
        html = client.get(url).content.decode()

        assert INLINE_SCRIPT.findall(html) == [], url
        assert INLINE_HANDLER.findall(html) == [], url
    client.logout()
    assert INLINE_SCRIPT.findall(client.get("/login/").content.decode()) == []


def test_the_answer_page_has_no_inline_script(client):
    _, path = sent_invitation()

    first = client.get(path)
    follow_ups = client.post(path, {"lang": "en", **dict.fromkeys(_score_field(first), "9")}, follow=True)

    for page in (first, follow_ups):
        assert page.status_code == 200
        assert INLINE_SCRIPT.findall(page.content.decode()) == []
        assert INLINE_HANDLER.findall(page.content.decode()) == []
        assert directives(page)["script-src"] == "'self'"
    assert "data-autosave" in follow_ups.content.decode()  # the page whose script saves as one types


def _score_field(page):
    return set(re.findall(r'name="(q\d+)" value="9"', page.content.decode()))


def test_hsts_and_the_other_headers_are_sent_over_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    answer = client.get("/login/", secure=True)

    assert answer["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Referrer-Policy"] == "same-origin"
    assert answer["X-Frame-Options"] == "DENY"
    assert answer["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in answer["Permissions-Policy"]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    # What docs/security.md ("Headers") lists for production; nothing else set.
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "false",
        "SECRET_KEY": "x7Qv2-production-like-secret-9fLk3mZp0aT8wR4yB6nC1dE5gH7jK2lM4",
        "ALLOWED_HOSTS": "feedback.example.com",
        "PUBLIC_URL": "https://feedback.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://feedback.example.com",
        "BAZGASHT_VAR_DIR": str(tmp_path),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}"),
    }

    security = (ROOT / "docs" / "security.md").read_text()
    [documented] = [block for block in re.findall(r"```sh\n(.*?)```", security, re.S) if "check --deploy" in block]
    settings = dict(re.findall(r"\b([A-Z_]+)=(\S+)", documented))
    plumbing = {"PATH", "BAZGASHT_VAR_DIR", "DATABASE_URL"}
    assert set(settings) == set(env) - plumbing
    assert {name: value for name, value in settings.items() if name != "SECRET_KEY"} == {
        name: env[name] for name in set(env) - plumbing - {"SECRET_KEY"}
    }

    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout
