"""The README's first steps, as a newcomer takes them: `make run` (the Procfile's four processes
on SQLite and the folder broker, on free ports), then "Try the loop" with the README's own
commands: an order, the survey email, an answer, a case, the numbers, the monthly report in
both editions. Any traceback or warning in what the processes print fails it."""

import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import urllib.parse
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import ROOT, free_port, wait_until

README = (ROOT / "README.md").read_text()
# Settings of the suite's own run that a newcomer's shell does not have.
NOT_A_NEWCOMERS = ("DATABASE_URL", "REDIS_URL", "CELERY_QUEUE", "CELERY_BROKER_DIR", "MEDIA_ROOT", "DEBUG",
                   "PUBLIC_URL", "EMAIL_HOST", "EMAIL_PORT", "SECRET_KEY", "PYTHONPATH", "BAZGASHT_TEST_CLOCK_SHIFT",
                   "BAZGASHT_TEST_NOW", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # fmt: skip
BASH = shutil.which("bash") or "/bin/bash"
# The README's examples are written for the default ports.
WEB, MAIL = "127.0.0.1:8000", 1025


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def shell_blocks(text: str) -> list[str]:
    return [re.sub(r"^ {3}", "", block, flags=re.M) for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


class Output:
    """What a process prints, line by line, read on a thread of its own."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        with stream:  # type: ignore[attr-defined]
            for line in stream:  # type: ignore[attr-defined]
                self.lines.append(line.rstrip("\n"))

    def wait_for_the_end(self) -> None:
        self._thread.join(timeout=30)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(path.read_bytes())).pages)


def troubles(text: str) -> list[str]:
    """Lines a newcomer would read as breakage."""
    found = []
    for line in text.splitlines():
        if not re.search(r"Traceback|Warning|WARNING|ERROR|CRITICAL|Error:", line):
            continue
        # Celery's notice to root (CI runs as root; a newcomer's account is not root): the one allowed.
        if os.geteuid() == 0 and re.search(r"SecurityWarning.*superuser privileges|ROOT_DISCOURAGED", line):
            continue
        found.append(line)
    return found


def run_readme_command(command: str, env: dict[str, str], web: str) -> str:
    done = subprocess.run(
        [BASH, "-c", command.replace(WEB, web)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert not troubles(done.stderr), done.stderr
    return done.stdout


def test_try_the_loop_as_the_readme_says(tmp_path: Path) -> None:
    port, mail_port = free_port(), free_port()
    web = f"127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if name not in NOT_A_NEWCOMERS}
    env["BAZGASHT_VAR_DIR"] = str(tmp_path / "var")
    [make_run] = [line for block in shell_blocks(README[: README.index("\n## ")]) for line in block.splitlines()
                  if line.startswith("make run")]  # fmt: skip
    run = subprocess.Popen(
        [shutil.which("make") or "make", *make_run.split("#")[0].split()[1:], f"PORT={port}", f"MAIL_PORT={mail_port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    output = Output(run)
    try:
        # 1. make run prints the key to export; the README's curl posts an order with it.
        key = wait_until(lambda: re.search(r"export KEY=(\S+)", output.text), timeout=240, what="the demo's key")[1]
        wait_until(lambda: f"Starting development server at http://{web}/" in output.text, what="the web server")
        env["KEY"] = key
        try_the_loop = section("Try the loop")
        order, numbers, reports = shell_blocks(try_the_loop)
        before = json.loads(run_readme_command(numbers, env, web))["responses"]
        assert json.loads(run_readme_command(order, env, web))["external_id"] == "A-1"

        # 2. The mail process prints the survey email; the customer follows its link and answers.
        # The worker first reads the demo's history it was handed (a few hundred answers).
        link = wait_until(
            lambda: re.search(rf"http://{web}/s/[\w-]+/", output.text), timeout=180, what="the survey email"
        )[0]
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        def answer(url: str, fields: dict[str, str]) -> tuple[str, str]:
            with browser.open(url, timeout=30) as response:
                page = response.read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
            named = {re.search(pattern, page)[1]: value for pattern, value in fields.items()}
            data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **named}).encode()
            # Our server on loopback; the opener follows the 303 to the next step.
            with browser.open(urllib.request.Request(url, data=data), timeout=30) as answered:  # noqa: S310
                return answered.geturl(), answered.read().decode()

        comment_page, _ = answer(link, {r'type="radio" name="(q\d+)"': "3"})
        _, thanks = answer(comment_page, {r'<textarea name="(q\d+)"': "The parcel arrived broken, nobody answers."})
        assert "Thank you" in thanks

        # 3. A case for the support team, and the numbers count the answer.
        cases = urllib.request.Request(f"http://{web}/api/v1/cases?q=A-1", headers={"Authorization": f"Bearer {key}"})

        def the_case() -> dict[str, object] | None:
            with urllib.request.urlopen(cases, timeout=30) as response:  # noqa: S310 - our server
                items = json.loads(response.read())["items"]
            return next((item for item in items if item["order"] == "A-1"), None)

        case = wait_until(the_case, timeout=120, what="the case on the work list")
        assert "detractor" in case["reasons"]
        assert json.loads(run_readme_command(numbers, env, web))["responses"] == before + 1

        # 4. The README's report commands: last month's PDF in both editions.
        for command in reports.splitlines():
            out = tmp_path / re.search(r"--out (\S+)", command)[1]
            printed = run_readme_command(command.replace(" --out ", f" --out {tmp_path}/"), env, web)
            assert f"Wrote {out}" in printed
            assert "Demo Shop" in pdf_text(out)
        # ...and this month's, where the answer just given is.
        # The processes keep the real clock (a chosen day for the suite is not theirs), as does `date`.
        this_month = run_readme_command("TZ=Asia/Tehran date +%Y-%m", env, web).strip()  # the demo shop's month
        command = reports.splitlines()[0].replace("--out report.pdf", f"--month {this_month} --out {tmp_path}/now.pdf")
        run_readme_command(command, env, web)
        assert "you@example.com" in pdf_text(tmp_path / "now.pdf")
    finally:
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C, as a newcomer stops it
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        output.wait_for_the_end()
        print(output.text[-30_000:])  # shown by pytest only when the test failed
    assert not troubles(output.text), "\n".join(troubles(output.text))
    assert "Demo Shop' is ready" in output.text


@pytest.mark.parametrize(
    ("page", "target"),
    [("README.md", "run"), ("README.md", "test"), ("README.md", "install"), ("README.md", "lint"),
     ("docs/security.md", "audit"), ("docs/using.md", "messages"), ("CONTRIBUTING.md", "format")],
)  # fmt: skip
def test_every_make_target_the_docs_name_exists(page: str, target: str) -> None:
    assert f"make {target}" in (ROOT / page).read_text()
    assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.M)


def test_no_page_names_a_make_target_the_makefile_lacks() -> None:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")]
    named = {target for page in pages for target in re.findall(r"(?:`|^ *)make ([\w-]+)", page.read_text(), re.M)}
    makefile = (ROOT / "Makefile").read_text()

    assert {"run", "test", "audit"} <= named
    assert [target for target in sorted(named) if not re.search(rf"^{target}:", makefile, re.M)] == []
