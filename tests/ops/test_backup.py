"""The backup procedure of docs/operations.md ("Backups and restore"), run for real: dump the
database, restore it into a fresh one, check its migrations and serve requests from it."""

import re
import secrets
import shutil
import subprocess
import sys

import pytest
from django.utils import timezone

from surveys.intake.api_keys import create_api_key
from surveys.intake.orders import CustomerDetails, record_order
from tests.conftest import ROOT, _database_url
from tests.ops.conftest import app_env, gunicorn

# The commands as docs/operations.md gives them; the test adds its own names and files.
DUMP = ("pg_dump", "--format=custom", "--no-owner")
CREATE = ("createdb",)
RESTORE = ("pg_restore", "--no-owner", "--exit-on-error")
CHECK = ("manage.py", "migrate", "--check")


def run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=app_env(**env), capture_output=True, text=True, check=False)


@pytest.mark.postgresql_only(reason="pg_dump and pg_restore need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_passes_migrate_check_and_serves_its_data(tmp_path, shop):
    for tool in ("pg_dump", "pg_restore", "createdb", "dropdb"):
        assert shutil.which(tool), f"{tool} is needed (apt-get install postgresql-client)"
    _, key = create_api_key(shop, name="before the backup")
    record_order(shop, external_id="B-1", customer=CustomerDetails(email="kept@example.com"), total=30,
                 currency="EUR", placed_at=timezone.now())  # fmt: skip
    source = _database_url()
    restored_name = f"bazgasht_restore_{secrets.token_hex(4)}"
    restored = source.rsplit("/", 1)[0] + f"/{restored_name}"
    dump = tmp_path / "bazgasht.dump"

    dumped = run(*DUMP, f"--file={dump}", source)
    assert dumped.returncode == 0, dumped.stderr
    server = source.rsplit("/", 1)[0] + "/postgres"
    assert run(*CREATE, f"--maintenance-db={server}", restored_name).returncode == 0
    try:
        loaded = run(*RESTORE, f"--dbname={restored}", str(dump))
        checked = run(sys.executable, *CHECK, DATABASE_URL=restored)
        with gunicorn(tmp_path, DATABASE_URL=restored) as web:
            ready = web.request("GET", "/readyz")
            kept = web.request("GET", "/api/v1/orders/B-1", headers={"Authorization": f"Bearer {key}"})
            added = web.request(
                "POST", "/api/v1/orders", headers={"Authorization": f"Bearer {key}"},
                body={"external_id": "B-2", "total": "5.00", "currency": "EUR",
                      "placed_at": "2026-11-20T10:00:00+00:00", "customer": {"email": "new@example.com"}},
            )  # fmt: skip
    finally:
        dropped = run("dropdb", f"--maintenance-db={server}", "--force", restored_name)

    assert loaded.returncode == 0, loaded.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr  # no migration left unapplied
    assert (ready[0], ready[1]["failed"]) == (200, [])
    assert (kept[0], kept[1]["external_id"], len(kept[1]["invitations"])) == (200, "B-1", 1)
    # A write works too: the restored sequences continue after the restored rows.
    assert (added[0], added[1]["external_id"]) == (201, "B-2")
    assert dropped.returncode == 0, dropped.stderr


def test_the_documented_procedure_is_the_one_tested():
    operations = (ROOT / "docs" / "operations.md").read_text()
    section = operations[operations.index("\n## Backups and restore\n") :]
    [procedure] = re.findall(r"```sh\n(.*?)```", section[: section.index("\n## ", 1)], re.S)

    assert f"{' '.join(DUMP)} --file=" in procedure
    assert f"{' '.join(CREATE)} --maintenance-db=" in procedure
    assert f"{' '.join(RESTORE)} --dbname=" in procedure
    assert f".venv/bin/python {' '.join(CHECK)}" in procedure
    assert "tests/ops/test_backup.py" in operations
