"""`make audit`'s verdict on pip-audit's report (`.ci/audit.py`). pip-audit's vulnerability
database is outside this machine (and out of reach from it), so the reports here are written
in pip-audit's JSON format: one as it reads with a known advisory, one as it reads here."""

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("ci_audit", Path(__file__).parent.parent / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

PROJECT = {"name": "bazgasht", "skip_reason": "Dependency not found on PyPI and is an editable install"}


def test_a_known_vulnerability_fails_the_audit_and_names_the_fix():
    report = {
        "dependencies": [
            PROJECT,
            {
                "name": "django",
                "version": "5.2.0",
                "vulns": [
                    {
                        "id": "CVE-2025-32873",
                        "fix_versions": ["4.2.21", "5.1.9", "5.2.1"],
                        "aliases": [],
                    },
                ],
            },
            {"name": "celery", "version": "5.5.3", "vulns": []},
        ],
        "fixes": [],
    }

    lines, code = audit.verdict(report, strict=False)

    assert code == 1
    assert "VULNERABLE django 5.2.0: CVE-2025-32873 (fixed in 4.2.21, 5.1.9, 5.2.1)" in lines
    assert "pip-audit: 2 of 2 installed packages audited, 1 vulnerable" in lines


def test_a_clean_report_passes():
    report = {"dependencies": [PROJECT, {"name": "celery", "version": "5.5.3", "vulns": []}], "fixes": []}

    assert audit.verdict(report, strict=True) == (["pip-audit: 1 of 1 installed packages audited, 0 vulnerable"], 0)


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 1)])
def test_nothing_audited_is_said_plainly_and_fails_only_when_strict(strict, code):
    skipped = {"name": "amqp", "skip_reason": "Dependency not found on PyPI and could not be audited: amqp (5.4.2)"}

    lines, got = audit.verdict({"dependencies": [PROJECT, skipped], "fixes": []}, strict=strict)

    assert got == code
    assert "pip-audit: 0 of 1 installed packages audited, 0 vulnerable" in lines
    assert any(line.startswith("Nothing was audited") for line in lines)
