"""Who may open what: every staff page and download, for each role in the shop and for another shop."""

import warnings

import pytest
from anymail.exceptions import AnymailNotSupportedWarning
from django.contrib.auth.models import User

from feedback.casework.flagging import flag_response
from surveys.models import Membership, PendingImport
from tests.factories import ResponseFactory, ShopFactory

pytestmark = pytest.mark.django_db

AGENT, MANAGER, ADMIN = Membership.Role.AGENT, Membership.Role.MANAGER, Membership.Role.ADMIN


@pytest.fixture
def case():
    return flag_response(ResponseFactory(score=1, comment="Broken."))


def member(shop, role):
    user = User.objects.create_user(f"{role}-{shop.slug}", password="a-long-test-password", is_staff=True)
    Membership.objects.create(user=user, shop=shop, role=role)
    return user


def pages(case):
    slug = case.shop.slug
    return {
        "queue": ("get", "/cases/"),
        "case": ("get", f"/cases/{case.pk}/"),
        "note": ("post", f"/cases/{case.pk}/note/"),
        "dashboard": ("get", f"/dashboard/?shop={slug}"),
        "responses csv": ("get", f"/exports/responses.csv?shop={slug}"),
        "cases csv": ("get", f"/exports/cases.csv?shop={slug}"),
    }


# The work list is for everyone in the shop; the numbers for managers and shop admins.
EXPECTED = {
    AGENT: {"queue": 200, "case": 200, "note": 302, "dashboard": 403, "responses csv": 403, "cases csv": 403},
    MANAGER: {"queue": 200, "case": 200, "note": 302, "dashboard": 200, "responses csv": 200, "cases csv": 200},
    ADMIN: {"queue": 200, "case": 200, "note": 302, "dashboard": 200, "responses csv": 200, "cases csv": 200},
}


@pytest.mark.parametrize("role", [AGENT, MANAGER, ADMIN])
def test_each_role_opens_what_it_needs_and_nothing_more(client, case, role):
    client.force_login(member(case.shop, role))

    statuses = {
        name: getattr(client, method)(url, {"text": "Called, no answer."} if method == "post" else None).status_code
        for name, (method, url) in pages(case).items()
    }

    assert statuses == EXPECTED[role]


@pytest.mark.parametrize("role", [AGENT, MANAGER, ADMIN])
def test_staff_of_another_shop_reach_none_of_its_cases_or_numbers(client, case, role):
    client.force_login(member(ShopFactory(), role))

    statuses = {
        name: getattr(client, method)(url, {"text": "x"} if method == "post" else None).status_code
        for name, (method, url) in pages(case).items()
    }
    queue = client.get("/cases/").content.decode()

    assert statuses["case"] == statuses["note"] == 404
    assert statuses["dashboard"] in (403, 404)
    assert statuses["responses csv"] in (403, 404)
    assert statuses["cases csv"] in (403, 404)
    assert f"/cases/{case.pk}/" not in queue


def test_anonymous_visitors_are_sent_to_the_login_page_everywhere(client, case):
    for name, (method, url) in pages(case).items():
        answer = getattr(client, method)(url)
        assert answer.status_code == 302, name
        assert answer["Location"].startswith("/login/"), name


# --- The matrix: every URL pattern × every role ------------------------------------------------
#
# Walks every pattern Django knows (get_resolver()), opens it as five people: nobody, an agent,
# a manager and an admin of shop A, and an admin of shop B; ids in URLs are shop A's. A pattern
# that is not in this matrix fails the test: a new page must say who may open it.

ROLES = ["anonymous", "agent", "manager", "admin A", "admin B"]
STAFF = ROLES[1:]
LOGIN = "login"  # a 302 to the sign-in page


def everyone(status):
    return dict.fromkeys(ROLES, status)


def staff(status, *, anonymous=LOGIN):
    return {"anonymous": anonymous, **dict.fromkeys(STAFF, status)}


def by_role(anonymous=LOGIN, *, agent, manager, admin_a, admin_b):
    return {"anonymous": anonymous, "agent": agent, "manager": manager, "admin A": admin_a, "admin B": admin_b}


# The pages outside the admin and the API, by URL name: how to open one (method, arguments drawn
# from the world below), and what each role gets. Why each is what it is:
#   customer pages (answer, unsubscribe): a link token is the credential; an unknown one is 404.
#   store webhooks: HMAC-signed per shop; unsigned is 401 for everyone, session or not.
#   the work list: every staff member has a queue (B's is empty); A's case is a 404 for B.
#   numbers, exports, reports: managers and shop admins; agents 403; B gets 403/404 for A's.
PAGES = {
    # Health checks for load balancers: open to all, no personal data (config/health.py). Metrics
    # take a bearer token, never a session, and do not exist without METRICS_TOKEN (config/metrics.py).
    "healthz": ("get", {}, everyone(200)),
    "readyz": ("get", {}, everyone(200)),
    "metrics": ("get", {}, everyone(404)),
    "answer": ("get", {"token": "no-such-token"}, everyone(404)),
    "answer_more": ("get", {"token": "no-such-token"}, everyone(404)),
    "answer_thanks": ("get", {"token": "no-such-token"}, everyone(404)),
    # A person's first act on the answer page (answer.js): nothing to say, whoever asks.
    "answer_seen": ("post", {"token": "no-such-token"}, everyone(204)),
    "unsubscribe": ("get", {"token": "no-such-token"}, everyone(404)),
    "shopify_webhook": ("post", {"shop_slug": "shop_a"}, everyone(401)),
    # Shop A takes Shopify webhooks only: another platform's URL answers as a wrong signature does.
    "woocommerce_webhook": ("post", {"shop_slug": "shop_a"}, everyone(401)),
    # Customers' replies to survey texts, forwarded by Kavenegar to a URL that is its own key.
    "sms_reply": ("post", {"token": "no-such-token"}, everyone(404)),
    "survey_preview": ("get", {}, by_role(agent=403, manager=403, admin_a=200, admin_b=200)),
    "login": ("get", {}, staff(302, anonymous=200)),
    "login_code": ("get", {}, everyone(LOGIN)),
    "logout": ("get", {}, everyone(405)),
    "two_factor": ("get", {}, staff(200)),
    # The header's language switch: each staff member's own setting, back to the work list.
    "staff_language": ("post", {}, staff(302)),
    "worklist": ("get", {}, staff(200)),
    # The filter form: back to the work list with the search's key.
    "worklist_search": ("post", {}, staff(302)),
    "cases_assign": ("post", {}, staff(422)),
    "case": ("get", {"case_id": "case"}, by_role(agent=200, manager=200, admin_a=200, admin_b=404)),
    "case_claim": ("post", {"case_id": "case"}, by_role(agent=302, manager=302, admin_a=302, admin_b=404)),
    "case_note": ("post", {"case_id": "case"}, by_role(agent=422, manager=422, admin_a=422, admin_b=404)),
    "case_reply": ("post", {"case_id": "case"}, by_role(agent=422, manager=422, admin_a=422, admin_b=404)),
    "case_status": ("post", {"case_id": "case"}, by_role(agent=422, manager=422, admin_a=422, admin_b=404)),
    "case_assign": ("post", {"case_id": "case"}, by_role(agent=422, manager=422, admin_a=422, admin_b=404)),
    "case_resolve": ("post", {"case_id": "case"}, by_role(agent=422, manager=422, admin_a=422, admin_b=404)),
    "export_responses": ("get", {}, by_role(agent=403, manager=200, admin_a=200, admin_b=404)),
    "export_cases": ("get", {}, by_role(agent=403, manager=200, admin_a=200, admin_b=404)),
    "dashboard": ("get", {}, by_role(agent=403, manager=200, admin_a=200, admin_b=404)),
    # The archive lists the reports of the user's own shops (B's for B; ?shop= is not read there).
    "report_archive": ("get", {}, by_role(agent=403, manager=200, admin_a=200, admin_b=200)),
    # An empty form goes back to the archive with a message.
    "report_make": ("post", {}, by_role(agent=403, manager=302, admin_a=302, admin_b=302)),
    # A report of a shop the user does not manage is a 404, signed in or not.
    "report_regenerate": ("post", {"run_id": "report"}, by_role(404, agent=404, manager=302, admin_a=302, admin_b=404)),
    "report_download": ("get", {"run_id": "report"}, by_role(agent=404, manager=200, admin_a=200, admin_b=404)),
}
# Query strings for pages that pick the shop from one.
QUERIES = {"export_responses": "shop", "export_cases": "shop", "dashboard": "shop", "report_archive": "shop"}

# The admin's own pages (not a model's). The sign-in page is ours: /admin/login/ redirects there.
ADMIN_SITE = {
    "admin/": ("get", staff(200)),
    "admin/login/": ("get", everyone(LOGIN)),
    # Signing out is a POST; the admin sends the signed-out to its index first.
    "admin/logout/": ("get", staff(405, anonymous=302)),
    "admin/password_change/": ("get", staff(200)),
    "admin/password_change/done/": ("get", staff(200)),
    "admin/autocomplete/": ("get", staff(403)),
    "admin/jsi18n/": ("get", staff(200)),
    "admin/r/<path:content_type_id>/<path:object_id>/": ("get", staff(404)),
    "admin/^(?P<app_label>...)/$": ("get", staff(200)),
    "admin/(?P<url>.*)$": ("get", staff(404)),
}

# Who may use each model's admin pages:
#   data: every staff member sees their shops' rows (agents and managers work with them);
#   settings: only shop admins (the shop, members, keys, surveys, rules, themes, webhooks);
#   numbers: managers and shop admins (reports);
#   superuser: no shop's to see (users, groups, sign-in records).
DATA, SETTINGS, NUMBERS, SUPERUSER = "data", "settings", "numbers", "superuser"
MODELS = {
    "auth.group": SUPERUSER,
    "auth.user": SUPERUSER,
    "surveys.shop": SETTINGS,
    "surveys.membership": SETTINGS,
    "surveys.apikey": SETTINGS,
    "surveys.customer": DATA,
    "surveys.suppression": DATA,
    "surveys.order": DATA,
    "surveys.survey": SETTINGS,
    "surveys.invitation": DATA,
    "surveys.webhooksource": SETTINGS,
    "surveys.webhookdelivery": DATA,
    "surveys.erasure": SETTINGS,
    "feedback.response": DATA,
    "feedback.followup": DATA,
    "feedback.flagrules": SETTINGS,
    "feedback.alertdelivery": SETTINGS,
    "feedback.loginfailure": SUPERUSER,
    "feedback.twofactordevice": SUPERUSER,
    "sentiment.sentimentscore": DATA,
    "sentiment.learnedmodel": DATA,
    "sentiment.theme": SETTINGS,
    "sentiment.answertheme": DATA,
    "reports.reportrun": NUMBERS,
    "reports.reportschedule": SETTINGS,
}
# A model's own extra admin pages, by route below the model's.
MODEL_EXTRAS = {
    "surveys.order": {
        "import/": ("get", by_role(agent=200, manager=200, admin_a=200, admin_b=200)),
        # Shop A's upload waiting for its column mapping: shop A's people only.
        "import/<int:pending_id>/map/": ("get", by_role(agent=200, manager=200, admin_a=200, admin_b=404)),
    },
    "auth.user": {"<id>/password/": ("get", staff(403))},
}
# Admin pages that differ from what their model's class implies, and why.
ADMIN_EXCEPTIONS = {
    # Written by Bazgasht only: nobody adds them by hand.
    ("surveys.webhookdelivery", "add/"): staff(403),
    ("surveys.invitation", "add/"): staff(403),
    ("feedback.alertdelivery", "add/"): staff(403),
    ("surveys.erasure", "add/"): staff(403),
    ("sentiment.learnedmodel", "add/"): staff(403),
    ("reports.reportrun", "add/"): staff(403),
    # A customer is erased (numbers kept), never deleted (their answers would go with them).
    ("surveys.customer", "<path:object_id>/delete/"): by_role(agent=403, manager=403, admin_a=403, admin_b=403),
    # The audit trail of erasures is never deleted.
    ("surveys.erasure", "<path:object_id>/delete/"): by_role(agent=403, manager=403, admin_a=403, admin_b=403),
    ("surveys.webhookdelivery", "<path:object_id>/delete/"): by_role(agent=200, manager=200, admin_a=200, admin_b=302),
}


STANDARD_ADMIN_PAGES = ("", "add/", "<path:object_id>/", "<path:object_id>/history/")
STANDARD_ADMIN_PAGES += ("<path:object_id>/delete/", "<path:object_id>/change/")


def admin_model_expectation(label, rest, has_object):
    """What each role gets on one of a model's standard admin pages, from its access class."""
    access = MODELS[label]
    if (label, rest) in ADMIN_EXCEPTIONS:
        return ADMIN_EXCEPTIONS[(label, rest)]
    allowed = {
        DATA: set(STAFF),
        SETTINGS: {"admin A", "admin B"},
        NUMBERS: {"manager", "admin A", "admin B"},
        SUPERUSER: set(),
    }[access]
    # Shop A's object is in the rows of A's staff only (for settings: A's admin only).
    sees_object = {role for role in allowed if role != "admin B"} if has_object else set()
    expected = {"anonymous": LOGIN}
    for role in STAFF:
        if rest in ("", "add/"):
            expected[role] = 200 if role in allowed else 403
        elif rest == "<path:object_id>/history/":
            # The admin looks the object up among the user's rows first: not there is a redirect.
            scoped = access != SUPERUSER
            expected[role] = 200 if role in sees_object else (302 if scoped or not has_object else 403)
        elif rest == "<path:object_id>/":
            expected[role] = 302  # the old URL, redirected to .../change/
        else:  # change/, delete/
            expected[role] = 200 if role in sees_object else (302 if role in allowed else 403)
    return expected


@pytest.fixture
def world(db):
    """Shop A with one of everything, its staff in each role, and an admin of shop B."""
    from django.contrib.auth.models import Group, Permission
    from django.core.files.base import ContentFile

    from feedback.accounts.models import LoginFailure, TwoFactorDevice
    from feedback.models import AlertDelivery, FlagRules
    from reports.models import ReportRun
    from sentiment.models import Theme
    from surveys.intake.api_keys import create_api_key
    from surveys.models import Suppression, WebhookDelivery, WebhookSource

    case = flag_response(ResponseFactory(score=1, comment="Broken and late."))
    shop_a, shop_b = case.shop, ShopFactory()
    group = Group.objects.create(name="Shop staff")
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=STAFF_APPS))
    users = {}
    for name, shop, role in [
        ("agent", shop_a, AGENT),
        ("manager", shop_a, MANAGER),
        ("admin A", shop_a, ADMIN),
        ("admin B", shop_b, ADMIN),
    ]:
        user = User.objects.create_user(name.replace(" ", "-"), password="a-long-test-password", is_staff=True)
        user.groups.add(group)
        Membership.objects.create(user=user, shop=shop, role=role)
        users[name] = user
    FlagRules.objects.create(shop=shop_a)
    create_api_key(shop_a, name="matrix")
    Suppression.objects.create(shop=shop_a, address="gone@example.com", reason="unsubscribed")
    source = WebhookSource.objects.create(shop=shop_a, platform="shopify", secret="s3cret")
    WebhookDelivery.objects.create(source=source, delivery_id="d-1", topic="orders/create")
    AlertDelivery.objects.create(shop=shop_a, follow_up=case, url="https://hooks.example/x", outcome="delivered")
    Theme.objects.create(shop=shop_a, name="gift_wrap", keywords_en="gift wrap")
    report = ReportRun.objects.create(shop=shop_a, period="2026-10-01", period_end="2026-10-31", status="done")
    report.file.save("report.pdf", ContentFile(b"%PDF-1.4 a report"))
    LoginFailure.objects.create(username="someone", ip="192.0.2.1", at=case.created_at)
    TwoFactorDevice.objects.create(user=users["admin A"], secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    pending = PendingImport.objects.create(
        shop=shop_a, file_name="orders.csv", text="Order ID,Kunden-Email\n1,a@x.ir\n"
    )
    return {
        "pending_import": pending,
        "case": case,
        "shop_a": shop_a,
        "shop_b": shop_b,
        "users": users,
        "report": report,
    }


STAFF_APPS = ["surveys", "feedback", "sentiment", "reports"]


def url_patterns():
    """(route, name) for every pattern Django resolves, routes written out from the root."""
    from django.urls import URLResolver, get_resolver

    def walk(resolver, prefix):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.name

    return list(walk(get_resolver(), ""))


def admin_object(label, shop):
    from django.contrib import admin

    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    model_admin = admin.site._registry[model]
    shop_path = getattr(model_admin, "shop_path", None)
    found = model.objects.filter(**{shop_path: shop.pk}) if shop_path else model.objects.all()
    return found.order_by("pk").first()


def plan(world):
    """Every pattern as (what, method, path, expectations), or as a problem when the matrix has no entry."""
    import re

    from django.urls import reverse

    from config.api import api

    schema_paths = api.get_openapi_schema()["paths"]
    values = {"case": world["case"].pk, "report": world["report"].pk, "shop_a": world["shop_a"].slug}
    planned, missing = [], []
    for route, name in url_patterns():
        # The admin's app index lists the apps in the order their models were registered.
        route = re.sub(r"\(\?P<app_label>[\w|]+\)", "(?P<app_label>...)", route)
        if route.startswith("api/v1/"):
            # The API takes keys, never sessions: 401 for every role here (tests/test_security_api.py
            # checks each endpoint's scope); its schema and docs are public.
            if name in ("openapi-json", "openapi-view"):
                planned.append((route, "get", "/" + route, everyone(200)))
                continue
            openapi = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            if openapi not in schema_paths and name == "api-root":
                planned.append((route, "get", "/" + route, everyone(404)))
                continue
            method = next(iter(schema_paths[openapi]))
            planned.append((route, method, re.sub(r"<(?:\w+:)?\w+>", "1", "/" + route), everyone(401)))
            continue
        if route.startswith("anymail/"):
            # Providers' webhooks, behind ANYMAIL_WEBHOOK_SECRET basic auth: Anymail refuses
            # everyone without it with a 400.
            planned.append((route, "post", "/" + route, everyone(400)))
            continue
        if route.startswith("admin/"):
            if route in ADMIN_SITE:
                method, expected = ADMIN_SITE[route]
                path = {
                    "admin/r/<path:content_type_id>/<path:object_id>/": "/admin/r/1/1/",
                    "admin/^(?P<app_label>...)/$": "/admin/surveys/",
                    "admin/(?P<url>.*)$": "/admin/no-such-page/",
                }.get(route, "/" + route)
                planned.append((route, method, path, expected))
                continue
            app, model, rest = re.match(r"admin/(\w+)/(\w+)/(.*)$", route).groups()
            label = f"{app}.{model}"
            if label not in MODELS:
                missing.append(f"{route}: the model {label} is not in MODELS (who may use its admin?)")
                continue
            obj = admin_object(label, world["shop_a"])
            if rest in MODEL_EXTRAS.get(label, {}):
                method, expected = MODEL_EXTRAS[label][rest]
                path = route.replace("<id>", str(obj.pk if obj else 0))
                path = path.replace("<int:pending_id>", str(world["pending_import"].pk))
                planned.append((route, method, "/" + path, expected))
                continue
            if rest not in (
                "",
                "add/",
                "<path:object_id>/",
                *(f"<path:object_id>/{p}/" for p in ("history", "delete", "change")),
            ):
                missing.append(f"{route}: an extra admin page of {label}, not in MODEL_EXTRAS")
                continue
            path = "/" + route.replace("<path:object_id>", str(obj.pk if obj else 0))
            planned.append((route, "get", path, admin_model_expectation(label, rest, obj is not None)))
            continue
        if name not in PAGES:
            missing.append(f"{route} ({name}): not in PAGES (who may open it?)")
            continue
        method, kwargs, expected = PAGES[name]
        path = reverse(name, kwargs={key: values.get(value, value) for key, value in kwargs.items()})
        if name in QUERIES:
            path += f"?shop={world['shop_a'].slug}"
        planned.append((route, method, path, expected))
    return planned, missing


def test_every_url_pattern_has_an_entry_in_the_permission_matrix(world):
    planned, missing = plan(world)

    assert missing == []
    assert len(planned) > 150  # the walk found the admin, the API and the pages


def _close(response):
    """Close a download's file, as the server would; without ending the test's database connection,
    which closing a response also does (Django's test client keeps it open only during a request)."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def _outcome(response):
    # The admin sends to its own login URL, which sends to ours: both are "to the sign-in page".
    if response.status_code == 302 and response["Location"].startswith(("/login/", "/admin/login/")):
        return LOGIN
    return response.status_code


def mismatches(client, world, role):
    from django.core.cache import cache

    planned, _ = plan(world)
    if role != "anonymous":
        client.force_login(world["users"][role])
    wrong = []
    for route, method, path, expected in planned:
        with warnings.catch_warnings():
            # Anymail warns on each request to its SendGrid webhook that it no longer supports it.
            warnings.simplefilter("ignore", AnymailNotSupportedWarning)
            answer = getattr(client, method)(path)
        _close(answer)
        cache.clear()
        got = _outcome(answer)
        if got != expected[role]:
            wrong.append(f"{method.upper()} {path} [{route}]: {got}, expected {expected[role]}")
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_matrix_says_on_every_page(client, world, role):
    wrong = mismatches(client, world, role)

    assert wrong == [], "\n".join(wrong)


# A page someone forgot to guard, to show the matrix catches it.
def _unguarded(request):
    from django.http import HttpResponse

    return HttpResponse("every customer's phone number")


def _canary_urls():
    from django.urls import path

    import config.urls

    return [*config.urls.urlpatterns, path("unguarded/", _unguarded, name="unguarded")]


def test_a_new_page_without_an_entry_fails_the_matrix(world, settings):
    settings.ROOT_URLCONF = __name__

    _, missing = plan(world)

    assert missing == ["unguarded/ (unguarded): not in PAGES (who may open it?)"]


def test_a_page_that_lets_anyone_in_fails_the_matrix(client, world, settings, monkeypatch):
    settings.ROOT_URLCONF = __name__
    monkeypatch.setitem(PAGES, "unguarded", ("get", {}, staff(200)))

    wrong = mismatches(client, world, "anonymous")

    assert wrong == ["GET /unguarded/ [unguarded/]: 200, expected login"]


def __getattr__(name):
    # The canary's URLconf is built on first use, after Django has loaded the project's.
    if name == "urlpatterns":
        return _canary_urls()
    raise AttributeError(name)
