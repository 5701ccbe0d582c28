import os
import subprocess
import sys

import pytest
from django.test import RequestFactory

from config.env import ConfigError, database_from_url, env_bool, env_int, env_rate
from config.security import client_address
from tests.conftest import ROOT


def test_env_bool_reads_common_spellings_and_refuses_others(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ConfigError, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_env_int_checks_number_and_range(monkeypatch):
    monkeypatch.setenv("PORT", "twenty")
    with pytest.raises(ConfigError, match="not a whole number"):
        env_int("PORT", 1)
    monkeypatch.setenv("PORT", "70000")
    with pytest.raises(ConfigError, match="above the maximum 65535"):
        env_int("PORT", 1, maximum=65535)
    monkeypatch.delenv("PORT")
    assert env_int("PORT", 25) == 25


def test_env_rate_reads_requests_per_seconds_and_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("RATE", " 30/60 ")
    assert env_rate("RATE", "1/1") == (30, 60)
    assert env_rate("UNSET_RATE", "120/600") == (120, 600)
    for bad in ("30", "30/0", "a/60", "-1/60"):
        monkeypatch.setenv("RATE", bad)
        with pytest.raises(ConfigError, match="RATE"):
            env_rate("RATE", "1/1")


def test_the_client_address_comes_from_our_own_proxies_only():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")

    # The client can write anything at the left of the header; only our proxy's entry counts.
    assert client_address(request, proxy_hops=1) == "203.0.113.9"
    assert client_address(request, proxy_hops=2) == "6.6.6.6"
    assert client_address(request, proxy_hops=0) == "10.0.0.2"
    assert client_address(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2"), proxy_hops=1) == "10.0.0.2"


def test_database_from_url_understands_postgres_and_sqlite():
    postgres = database_from_url("postgres://shop:p%40ss@db.internal:6432/bazgasht?sslmode=require")
    sqlite = database_from_url("sqlite:////srv/bazgasht/db.sqlite3")

    assert (postgres["ENGINE"], postgres["NAME"], postgres["USER"], postgres["PASSWORD"]) == (
        "django.db.backends.postgresql",
        "bazgasht",
        "shop",
        "p@ss",
    )
    assert (postgres["HOST"], postgres["PORT"], postgres["OPTIONS"]) == ("db.internal", "6432", {"sslmode": "require"})
    assert (sqlite["ENGINE"], sqlite["NAME"]) == ("django.db.backends.sqlite3", "/srv/bazgasht/db.sqlite3")
    with pytest.raises(ConfigError, match="mysql"):
        database_from_url("mysql://localhost/x")


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "HTTPS")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_production_settings_pass_the_deploy_check():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        SECRET_KEY="k" * 20 + "-a-long-random-production-secret-value-0123456789",
        ALLOWED_HOSTS="feedback.example.com",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_refuses_to_start():
    result = run_manage("check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    result = run_manage("makemigrations", "--check", "--dry-run", DEBUG="true")

    assert result.returncode == 0, result.stdout + result.stderr
