import pytest
from django.db import connections

from config.health import check_database
from tests.conftest import free_port


def test_liveness_answers_without_any_database_work(client):
    # No django_db mark: a query here would raise, so this also proves the page does no I/O.
    answer = client.get("/healthz")

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert "no-cache" in answer["Cache-Control"]
    assert not answer.cookies


@pytest.mark.django_db
def test_readiness_checks_the_database_and_the_broker_each_with_its_latency(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        answer = client.get("/readyz")

    body = answer.json()
    assert (answer.status_code, body["status"], body["failed"]) == (200, "ok", [])
    assert set(body["checks"]) == {"database", "broker"}
    for check in body["checks"].values():
        assert set(check) == {"ok", "ms"}
        assert check["ok"] is True
        assert 0 <= check["ms"] < 5000


@pytest.mark.django_db
def test_readiness_is_503_naming_the_broker_when_nothing_listens_on_its_port(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # a real, closed port

    answer = client.get("/readyz")

    body = answer.json()
    assert (answer.status_code, body["status"], body["failed"]) == (503, "fail", ["broker"])
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] == "ConnectionError"
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_the_database_check_fails_when_the_database_cannot_be_reached():
    default = connections["default"]
    unreachable = dict(default.settings_dict)
    if default.vendor == "postgresql":
        unreachable["PORT"] = str(free_port())
    else:
        unreachable["NAME"] = "/nonexistent-folder/bazgasht.sqlite3"
    dead = type(default)(unreachable, alias="unreachable")
    try:
        check = check_database(dead)
    finally:
        dead.close()

    assert (check.ok, check.error) == (False, "OperationalError")
    assert check.as_dict().keys() == {"ok", "ms", "error"}


@pytest.mark.django_db
def test_health_pages_are_neither_rate_limited_nor_redirected_to_https(client, settings):
    settings.ANSWER_RATE_LIMIT_PER_IP = (2, 60)
    settings.SECURE_SSL_REDIRECT = True

    statuses = [client.get(path).status_code for path in ["/healthz", "/readyz"] * 5]

    assert statuses == [200] * 10
    assert client.get("/login/").status_code == 301  # other pages still go to HTTPS
