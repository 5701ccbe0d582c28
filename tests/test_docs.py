"""The docs hold together: every relative link in README.md, the other pages at the top of the
repository and docs/ points at a file (and a heading) that exists, each page in docs/ first says
whom it is for, and every command in a ```sh block is either run by a test named here or listed
with the reason no test runs it. A command added to the docs that nobody runs fails here."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")])

# Commands the suite really runs, by a stable prefix of the command, with the test that runs them.
RUN_BY_TESTS = {
    # The README's own lines, taken from the README itself (its top and "Try the loop").
    "make run": "tests/test_readme.py::test_try_the_loop_as_the_readme_says",
    "curl -X POST http://127.0.0.1:8000/api/v1/orders": "tests/test_readme.py::test_try_the_loop_as_the_readme_says",
    'curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8000/api/v1/metrics/nps':
        "tests/test_readme.py::test_try_the_loop_as_the_readme_says",
    "DEBUG=true .venv/bin/python manage.py monthly_report --shop demo --out report.pdf":
        "tests/test_readme.py::test_try_the_loop_as_the_readme_says",
    "DEBUG=true .venv/bin/python manage.py monthly_report --shop demo --calendar jalali --language fa":
        "tests/test_readme.py::test_try_the_loop_as_the_readme_says",
    # The same command and flags; the test takes the schema from the app rather than over HTTP.
    "openapi-python-client generate --path openapi.json --meta none --output-path bazgasht_client":
        "tests/test_openapi_client.py::test_every_operation_of_the_schema_is_in_the_client",
    # Run on PostgreSQL with the test's own database names and dump file; the test checks that the
    # flags it uses are the ones docs/operations.md gives.
    "pg_dump --format=custom --no-owner":
        "tests/ops/test_backup.py::test_a_dump_restored_into_a_fresh_database_passes_migrate_check_and_serves_its_data",
    "createdb --maintenance-db=":
        "tests/ops/test_backup.py::test_a_dump_restored_into_a_fresh_database_passes_migrate_check_and_serves_its_data",
    "pg_restore --no-owner --exit-on-error":
        "tests/ops/test_backup.py::test_a_dump_restored_into_a_fresh_database_passes_migrate_check_and_serves_its_data",
    "DATABASE_URL=postgres://user:password@db:5432/bazgasht_restored .venv/bin/python manage.py migrate --check":
        "tests/ops/test_backup.py::test_a_dump_restored_into_a_fresh_database_passes_migrate_check_and_serves_its_data",
    # The same settings with a fixed key; the test checks they are the ones docs/security.md gives.
    "DEBUG=false SECRET_KEY=": "tests/test_security_headers.py::test_check_deploy_is_clean_with_production_settings",
}  # fmt: skip

# Commands no test runs, by a stable prefix, and why: for another machine, or not a test's to run.
NOT_RUN_BY_TESTS = {
    "make test": "the suite itself: a test cannot run the suite it is part of (.ci/run runs it)",
    "env -u DATABASE_URL -u REDIS_URL make test": "the suite itself, on SQLite (.ci/run runs it)",
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht REDIS_URL=":
        "the suite on a PostgreSQL server and a Redis the reader runs (.ci/run runs it so)",
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=":
        "the suite on a PostgreSQL server and a Redis the reader runs (.ci/run runs it so)",
    "make test PYTEST_ARGS=": "the suite itself, one file of it",
    "make lint": "checks the checkout, not the product; .ci/run runs it",
    "make messages": "rewrites locale/fa's catalogue, needs GNU gettext; tests/test_translations.py checks the result",
    "pip install openapi-python-client": "installs into the reader's own environment (the dev extra has it for tests)",
    "curl -o openapi.json http://127.0.0.1:8000/api/v1/openapi.json":
        "needs a running server; tests/test_openapi_client.py takes the same schema from the app",
    "DEBUG=true .venv/bin/python manage.py import_orders --shop demo orders.csv [":
        "a synopsis ([…] optional) for a shop's own export; tests/surveys/test_csv_import.py imports test files",
    "rsync -a": "copies MEDIA_ROOT to a backup host: another machine",
    "export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench":
        "the benchmarks' database, on a PostgreSQL server of their own",
    ".venv/bin/python bench/": "benchmarks: figures, not pass/fail, run by hand on a quiet machine and database"
    " (test_each_benchmark_command_in_the_docs_is_one_its_script_takes checks the command lines)",
}  # fmt: skip

FENCE = re.compile(r"^( *)```([\w-]*)\n(.*?)^\1```", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def name(value: object) -> str:
    return str(value.relative_to(ROOT)) if isinstance(value, Path) else str(value)[:70]


def without_code(text: str) -> str:
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def github_anchor(heading: str, seen: dict[str, int]) -> str:
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return f"{slug}-{count}" if count else slug


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    headings = re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", page.read_text()), re.M)
    return {github_anchor(heading, seen) for heading in headings}


def links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in PAGES
        for target in LINK.findall(without_code(page.read_text()))
        if not re.match(r"[a-z][a-z+.-]*:", target)  # http:, https:, mailto:
    ]


def shell_commands() -> list[tuple[Path, str]]:
    """Each command of each ```sh block: a line at the block's left edge, with the lines that
    continue it (after a backslash, or indented); comments and blank lines left out."""
    found = []
    for page in PAGES:
        for _, language, body in FENCE.findall(page.read_text()):
            if language != "sh":
                continue
            continued = False
            for line in textwrap.dedent(body).splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continued = False
                    continue
                if not continued and not line[0].isspace():
                    found.append((page, line))
                continued = line.rstrip().endswith("\\")
    return found


def how_it_is_known(command: str) -> tuple[str, str] | None:
    prefixes = [(prefix, "run") for prefix in RUN_BY_TESTS] + [(prefix, "not run") for prefix in NOT_RUN_BY_TESTS]
    matching = [(prefix, kind) for prefix, kind in prefixes if command.startswith(prefix)]
    return max(matching, key=lambda match: len(match[0]), default=None)


@pytest.mark.parametrize(("page", "target"), links(), ids=name)
def test_every_relative_link_points_at_what_exists(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page

    assert linked.exists(), f"{page.relative_to(ROOT)} links to {target}, which is not there"
    if anchor:
        assert linked.suffix == ".md", f"{page.relative_to(ROOT)}: an anchor in {target}, which has no headings"
        assert anchor in anchors(linked), f"{page.relative_to(ROOT)} links to {target}: no such heading"


def test_the_link_checker_finds_links_and_anchors() -> None:
    readme = ROOT / "README.md"

    assert (readme, "docs/operations.md#running-at-scale") in links()
    assert "who-is-surveyed-and-when" in anchors(ROOT / "docs" / "using.md")
    assert "follow-up-cases-the-work-list-and-the-numbers" in anchors(ROOT / "docs" / "using.md")
    # A comment in a code block is no heading.
    assert not [anchor for anchor in anchors(ROOT / "docs" / "operations.md") if anchor.startswith("alert-ideas")]


@pytest.mark.parametrize("page", sorted((ROOT / "docs").glob("*.md")), ids=lambda page: page.name)
def test_every_docs_page_first_says_whom_it_is_for(page: Path) -> None:
    first_line = page.read_text().splitlines()[0]

    assert re.fullmatch(r"\*For .+\*", first_line), first_line


@pytest.mark.parametrize(("page", "command"), shell_commands(), ids=name)
def test_every_shell_command_in_the_docs_is_run_by_a_test_or_says_why_not(page: Path, command: str) -> None:
    assert how_it_is_known(command), (
        f"{page.relative_to(ROOT)}: `{command}` is run by no test named in tests/test_docs.py. Run it in a test"
        " and add it to RUN_BY_TESTS, or add it to NOT_RUN_BY_TESTS with the reason no test can"
    )


def test_every_command_listed_here_is_still_in_the_docs() -> None:
    known = [how_it_is_known(command) for _, command in shell_commands()]
    used = {match[0] for match in known if match}

    assert set(RUN_BY_TESTS) - used == set()
    assert set(NOT_RUN_BY_TESTS) - used == set()
    assert set(RUN_BY_TESTS) & set(NOT_RUN_BY_TESTS) == set()


@pytest.mark.parametrize("test", sorted(set(RUN_BY_TESTS.values())))
def test_the_tests_named_as_running_commands_exist(test: str) -> None:
    path, _, name = test.partition("::")

    assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), test


def test_the_command_finder_reads_continued_lines_as_one_command() -> None:
    commands = [command for page, command in shell_commands() if page.name == "README.md"]

    assert 'curl -X POST http://127.0.0.1:8000/api/v1/orders -H "Authorization: Bearer $KEY" \\' in commands
    assert not any(command.startswith(("-H", "-d", '"customer"')) for command in commands)
    assert "make test    # install what the tests need and run them" in commands


BENCH = re.compile(r"\.venv/bin/python (bench/\w+\.py)((?: --[\w-]+(?:[ =][^\s#-][^\s#]*)?)*)")


def bench_commands() -> list[tuple[str, list[str]]]:
    found = []
    for _, command in shell_commands():
        if match := BENCH.search(command):
            found.append((match[1], re.findall(r"--[\w-]+", match[2])))
    return found


@pytest.mark.parametrize(("script", "options"), bench_commands(), ids=lambda value: str(value)[:60])
def test_each_benchmark_command_in_the_docs_is_one_its_script_takes(script: str, options: list[str]) -> None:
    # The benchmarks are run by hand (figures, not pass/fail), so here their command lines are
    # checked against the scripts' own options: a renamed option fails here, not for the reader.
    helped = subprocess.run(
        [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert helped.returncode == 0, helped.stderr
    assert [option for option in options if option not in helped.stdout] == []
