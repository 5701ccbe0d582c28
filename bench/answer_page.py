"""The customer answer page under gunicorn, beside a bare Django view of the same size.

    .venv/bin/python bench/answer_page.py --workers 4 --users 16 --requests 3000 --warmup 300

(PostgreSQL at 127.0.0.1:5432 and Redis are all it needs: it creates the database
bazgasht_bench if missing, migrates it with bench/settings.py, uses Redis db 12 and the
Celery queue bench-answer with no worker, and deletes what it made.)

Four phases, each a fixed count of requests after a warm-up, from closed-loop users (each
sends its next request when the last one is answered):
- page views: GET /s/<token>/?score=9, each a fresh invitation opened for the first time
  by a customer without cookies;
- submissions: POST of the form each view returned (CSRF cookie and hidden token included),
  then, as a browser does, GET of every redirect and POST of every further form, until a
  page without a form (the thank-you page). A submission is one POST.
The same against the baseline in bench/baseline_urls.py: GET renders a template padded to
the answer page's size, POST inserts one row and redirects to a template padded to the
size of the answer's last page. The form client is generic (stdlib html.parser), so it
follows the page's steps whatever its fields. Prints req/s, p50 and p99 for each, the
answer / baseline ratios, and queries per request counted in process.
"""

import argparse
import http.client
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/bazgasht_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "CELERY_QUEUE": "bench-answer",
    "BAZGASHT_VAR_DIR": "/tmp/var-bench",  # noqa: S108 - a scratch folder the bench may share
    "SECRET_KEY": "bench-answer-page-not-a-secret",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DEBUG": "false",
    "HTTPS": "false",
    "LOG_LEVEL": "WARNING",
}
for _name, _value in BENCH_ENV.items():
    os.environ.setdefault(_name, _value)

SENTENCE = "Quick delivery and the mug is lovely."
REDIRECTS = {301, 302, 303, 307, 308}
# Buttons a generic customer must not press on a multi-step form.
BACK_BUTTON = re.compile(r"back|prev", re.IGNORECASE)


# --- The generic form client ---------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    radios: dict[str, str] = field(default_factory=dict)
    checkboxes: dict[str, str] = field(default_factory=dict)
    selects: dict[str, str | None] = field(default_factory=dict)
    button: tuple[str, str] | None = None

    def data(self) -> list[tuple[str, str]]:
        """What a customer who takes the preselected or first choice everywhere sends."""
        selects = [(name, value) for name, value in self.selects.items() if value is not None]
        chosen = [*self.radios.items(), *self.checkboxes.items(), *selects]
        return [*self.fields, *chosen, *([self.button] if self.button else [])]

    def signature(self, page_url: str) -> tuple[str, tuple[str, ...]]:
        names = {name for name, _ in self.data()}
        return urlsplit(urljoin(page_url, self.action)).path, tuple(sorted(names))


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "form":
            self._form = Form(method=(attr.get("method") or "get").lower(), action=attr.get("action") or "")
            self.forms.append(self._form)
            return
        if tag == "option" and self._form is not None and self._select is not None:
            # The first option of a <select>, or the one marked selected.
            if self._form.selects[self._select] is None or "selected" in attr:
                self._form.selects[self._select] = attr.get("value") or ""
            return
        form, name = self._form, attr.get("name")
        if form is None or not name or "disabled" in attr:
            return
        value = attr.get("value")
        if tag == "input":
            kind = (attr.get("type") or "text").lower()
            if kind == "hidden":
                form.fields.append((name, value or ""))
            elif kind == "radio":
                if name not in form.radios or "checked" in attr:
                    form.radios[name] = value or "on"
            elif kind == "checkbox":
                form.checkboxes.setdefault(name, value or "on")
            elif kind in ("submit", "image"):
                self._button(form, name, value or "")
            elif kind == "email":
                form.fields.append((name, value or "customer@example.com"))
            elif kind in ("number", "range"):
                form.fields.append((name, value or attr.get("min") or "1"))
            elif kind not in ("button", "reset", "file"):
                form.fields.append((name, value or SENTENCE))
        elif tag == "textarea":
            form.fields.append((name, SENTENCE))
        elif tag == "select":
            self._select = name
            form.selects[name] = None
        elif tag == "button" and (attr.get("type") or "submit").lower() == "submit":
            self._button(form, name, value or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def _button(self, form: Form, name: str, value: str) -> None:
        if form.button is None and not BACK_BUTTON.search(f"{name} {value}"):
            form.button = (name, value)


def page_form(body: bytes, page_url: str) -> Form | None:
    """The answer form on a page: a POST form to the page itself if there is one, else the first POST form."""
    parser = FormParser()
    parser.feed(body.decode("utf-8", "replace"))
    parser.close()
    forms = [form for form in parser.forms if form.method == "post"]
    own = urlsplit(page_url).path
    for form in forms:
        if urlsplit(urljoin(page_url, form.action)).path == own:
            return form
    return forms[0] if forms else None


@dataclass
class Reply:
    url: str  # the path and query asked for
    status: int
    location: str
    body: bytes
    seconds: float


# (method, url, form data or None) -> Reply; the caller's customer keeps the cookies.
Fetch = Callable[[str, str, list[tuple[str, str]] | None], Reply]


def answer(fetch: Fetch, url: str, form: Form, *, max_requests: int) -> list[tuple[str, Reply]]:
    """POST the form, follow redirects, POST every further form; every request made, in order.

    Stops at a page without a form, an error, a form already sent once (a page that
    shows the same form again: invalid data, or "change your answer" on the last page)
    or after max_requests.
    """
    done: list[tuple[str, Reply]] = []
    sent: set[tuple[str, tuple[str, ...]]] = set()
    while len(done) < max_requests:
        sent.add(form.signature(url))
        reply = fetch("POST", urljoin(url, form.action), form.data())
        done.append(("POST", reply))
        while reply.status in REDIRECTS and len(done) < max_requests:
            reply = fetch("GET", relative(urljoin(reply.url, reply.location)), None)
            done.append(("GET", reply))
        if reply.status != 200:
            break
        url = reply.url
        next_form = page_form(reply.body, url)
        if next_form is None or next_form.signature(url) in sent:
            break
        form = next_form
    return done


def relative(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- HTTP ------------------------------------------------------------------------------


class Connection:
    """One user's connection: kept alive when the server allows it, reopened when it closes."""

    def __init__(self, port: int) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def fetch(self, cookies: dict[str, str], method: str, url: str, data: list[tuple[str, str]] | None) -> Reply:
        headers = {"Accept": "text/html", "User-Agent": "bazgasht-bench"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        body = None
        if data is not None:
            body = urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.http.request(method, url, body=body, headers=headers)
                response = self.http.getresponse()
                content = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed between two requests.
                self.http.close()
                if attempt == 2:
                    raise
        seconds = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in header.lower():
                cookies[name.strip()] = value
            else:
                cookies.pop(name.strip(), None)
        return Reply(url, response.status, response.headers.get("Location", ""), content, seconds)

    def close(self) -> None:
        self.http.close()


@dataclass
class Prepared:
    """A page view's outcome, ready to be answered by the same customer."""

    url: str
    form: Form
    cookies: dict[str, str]


@dataclass
class Phase:
    seconds: float = 0.0
    # bucket -> (latency seconds, status) of every request
    requests: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    # Page views' replies, parsed only once the clock has stopped: the bench's own CPU is
    # the server's too on a small machine.
    pages: list[tuple[str, Reply, dict[str, str]]] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    machine_busy: float = 0.0

    def add(self, bucket: str, reply: Reply) -> None:
        self.requests.setdefault(bucket, []).append((reply.seconds, reply.status))

    def prepared(self) -> list[Prepared]:
        """The forms of the pages viewed, counted in `outcomes`."""
        ready = []
        for url, reply, cookies in self.pages:
            form = page_form(reply.body, url) if reply.status == 200 else None
            self.outcomes["form" if form else f"no form ({reply.status})"] += 1
            if form:
                ready.append(Prepared(url, form, cookies))
        return ready


def view(connection: Connection, url: str, phase: Phase, lock: threading.Lock) -> None:
    cookies: dict[str, str] = {}
    reply = connection.fetch(cookies, "GET", url, None)
    with lock:
        phase.add("GET", reply)
        phase.pages.append((url, reply, cookies))


def submit(connection: Connection, item: Prepared, phase: Phase, lock: threading.Lock, *, max_requests: int) -> None:
    def fetch(method: str, url: str, data: list[tuple[str, str]] | None) -> Reply:
        return connection.fetch(item.cookies, method, url, data)

    done = answer(fetch, item.url, item.form, max_requests=max_requests)
    last = done[-1][1]
    with lock:
        for method, reply in done:
            phase.add("POST" if method == "POST" else "GET after POST", reply)
        if last.status != 200:
            phase.outcomes[f"stopped: {last.status}"] += 1
        else:
            phase.outcomes["answered" if page_form(last.body, last.url) is None else "stopped: a form again"] += 1


def run(port: int, users: int, items: list[object], work: Callable[..., None], **options: object) -> Phase:
    """Closed loop: `users` threads, each taking the next item when its last one is done."""
    phase, lock, todo = Phase(), threading.Lock(), queue.SimpleQueue()
    for item in items:
        todo.put(item)

    def user() -> None:
        connection = Connection(port)
        try:
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                work(connection, item, phase, lock, **options)
        finally:
            connection.close()

    client_started, server_started, machine_started = time.process_time(), server_cpu(port), machine_cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        for future in [pool.submit(user) for _ in range(users)]:
            future.result()
    phase.seconds = time.perf_counter() - started
    phase.client_cpu = time.process_time() - client_started
    phase.server_cpu = server_cpu(port) - server_started
    busy, total = (now - then for now, then in zip(machine_cpu(), machine_started, strict=True))
    phase.machine_busy = busy / total if total else 0.0
    return phase


# --- CPU, from /proc -------------------------------------------------------------------

_SERVER_PIDS: dict[int, int] = {}  # port -> gunicorn master pid
_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def server_cpu(port: int) -> float:
    """CPU seconds the gunicorn master and its workers have used so far."""
    master = _SERVER_PIDS[port]
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sum(_process_cpu(pid) for pid in [master, *map(int, children)])


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


# --- Set-up ------------------------------------------------------------------------------


def create_database() -> None:
    import psycopg
    from psycopg import sql

    from config.env import database_from_url

    db = database_from_url(os.environ["DATABASE_URL"])
    params = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "password": db["PASSWORD"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(db["NAME"]))))


def create_invitations(count: int) -> tuple[object, list[str]]:
    """A shop whose survey asks NPS and a comment, and `count` sent invitations: (shop, their tokens)."""
    from django.utils import timezone

    from surveys.models import Customer, Invitation, Order, Question, Shop, Survey
    from surveys.outreach.tokens import hash_token, new_token

    stamp = int(time.time())
    shop = Shop.objects.create(name="Bench Mugs", slug=f"bench-answer-{stamp}", send_from_hour=0, send_until_hour=24)
    survey = Survey.objects.create(shop=shop, name="After purchase", trigger="purchase", delay=timedelta(0))
    Question.objects.create(survey=survey, kind="nps", position=0, text="How likely are you to recommend us?")
    Question.objects.create(survey=survey, kind="comment", position=1, text="What is the main reason for your score?")
    now = timezone.now()
    tokens = [new_token() for _ in range(count)]
    for start in range(0, count, 1000):
        batch = range(start, min(start + 1000, count))
        customers = Customer.objects.bulk_create(
            Customer(shop=shop, email=f"c{n}@example.com", name=f"Customer {n}") for n in batch
        )
        orders = Order.objects.bulk_create(
            Order(shop=shop, customer=customer, external_id=f"B-{n}", total=Decimal("49.90"), currency="EUR",
                  placed_at=now - timedelta(days=3))
            for n, customer in zip(batch, customers, strict=True)
        )  # fmt: skip
        Invitation.objects.bulk_create(
            Invitation(shop=shop, survey=survey, customer=order.customer, order=order, status="sent",
                       send_at=now, sent_at=now, expires_at=now + survey.valid_for,
                       token_hash=hash_token(tokens[n]))
            for n, order in zip(batch, orders, strict=True)
        )  # fmt: skip
    return shop, tokens


def in_process(url: str) -> tuple[list[tuple[str, str, int, int, int]], str]:
    """One customer's whole visit through Django's test client: (method, url, status, bytes, queries) each.

    Also returns the error, if the page raised one.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(enforce_csrf_checks=True)
    seen: list[tuple[str, str, int, int, int]] = []

    def fetch(method: str, url: str, data: list[tuple[str, str]] | None) -> Reply:
        with CaptureQueriesContext(connection) as queries:
            if data is None:
                response = client.get(url)
            else:
                response = client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")
        reply = Reply(url, response.status_code, response.headers.get("Location", ""), response.content, 0.0)
        seen.append((method, url, reply.status, len(reply.body), len(queries)))
        return reply

    try:
        first = fetch("GET", url, None)
        form = page_form(first.body, url) if first.status == 200 else None
        if form is not None:
            answer(fetch, url, form, max_requests=12)
    except Exception:  # the page mid-rework may raise anything: report it, bench the baseline anyway
        return seen, traceback.format_exc(limit=-3)
    return seen, ""


BASELINE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your order</title></head>
<body><main>
<h1>How was your order?</h1>
<form method="post" novalidate>{% csrf_token %}
<fieldset><legend>How likely are you to recommend us to a friend or colleague?</legend>
RADIOS
</fieldset>
<label for="comment">What is the main reason for your score?</label>
<textarea name="comment" id="comment" rows="4"></textarea>
<button type="submit">Send my answer</button>
</form>
<p>PADDING</p>
</main></body></html>
"""
BASELINE_THANKS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Thank you</title></head>
<body><main><h1>Thank you!</h1><p>PADDING</p></main></body></html>
"""


def write_baseline_templates(folder: Path, *, page_bytes: int, thanks_bytes: int) -> None:
    """The baseline's two templates, padded so that they render to the real pages' sizes."""
    from django.template import engines
    from django.test import RequestFactory

    radios = "\n".join(
        f'<label for="s{n}"><input type="radio" name="score" value="{n}" id="s{n}"{" checked" if n == 9 else ""}>'
        f"<span>{n}</span></label>"
        for n in range(11)
    )
    request = RequestFactory().get("/")
    (folder / "bench_baseline").mkdir(parents=True, exist_ok=True)
    for name, text, size in (("page", BASELINE_PAGE.replace("RADIOS", radios), page_bytes),
                             ("thanks", BASELINE_THANKS, thanks_bytes)):  # fmt: skip
        unpadded = len(engines["django"].from_string(text.replace("PADDING", "")).render({}, request).encode())
        padding = ("Thank you for shopping with us. " * (size // 32 + 1))[: max(size - unpadded, 0)]
        (folder / "bench_baseline" / f"{name}.html").write_text(text.replace("PADDING", padding))


# --- Report ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")


@dataclass
class Figures:
    rate: float
    p50: float
    p99: float
    errors: int
    statuses: str


def figures(phase: Phase, bucket: str) -> Figures:
    rows = phase.requests.get(bucket, [])
    latencies = [seconds * 1000 for seconds, _ in rows]
    statuses = Counter(status for _, status in rows)
    errors = sum(count for status, count in statuses.items() if status >= 400)
    shown = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    return Figures(len(rows) / phase.seconds if phase.seconds else 0.0, percentile(latencies, 0.5),
                   percentile(latencies, 0.99), errors, shown)  # fmt: skip


def line(label: str, phase: Phase, bucket: str, *, cpu: bool = True) -> Figures:
    numbers = figures(phase, bucket)
    per_request = sum(len(rows) for rows in phase.requests.values()) or 1
    extra = (
        f"  {phase.server_cpu * 1000 / per_request:5.1f} {phase.client_cpu * 1000 / per_request:5.1f}"
        f" {phase.machine_busy:5.0%}"
        if cpu
        else ""
    )
    print(f"{label:<34}{numbers.rate:8.0f}{numbers.p50:9.1f}{numbers.p99:9.1f}{extra}   [{numbers.statuses}]")
    return numbers


def ratio(label: str, answer: Figures | None, baseline: Figures) -> None:
    if answer is None or not answer.rate:
        print(f"{label:<34}{'-':>8}")
        return
    rate, p50, p99 = answer.rate / baseline.rate, answer.p50 / baseline.p50, answer.p99 / baseline.p99
    print(f"{label:<34}{rate:8.2f}{p50:9.2f}{p99:9.2f}")


TOKEN_IN_PATH = re.compile(r"^/([^/]+)/[^/?]+")


def describe(visit: list[tuple[str, str, int, int, int]]) -> str:
    lines = []
    for method, url, status, size, queries in visit:
        path = TOKEN_IN_PATH.sub(r"/\1/<token>", url)
        lines.append(f"{method:<4} {path:<36} {status} {size:6,} B {queries:3} queries")
    return "\n    ".join(lines)


# --- Main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (README: 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads a worker; above 1 gunicorn runs gthread")
    parser.add_argument("--users", type=int, default=16, help="concurrent closed-loop users")
    parser.add_argument("--requests", type=int, default=3000, help="page views measured a phase (and answers)")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured ones before each phase")
    parser.add_argument("--max-requests", type=int, default=12, help="requests one answer may take, at most")
    parser.add_argument("--port", type=int, default=8078)
    args = parser.parse_args()

    create_database()
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from bench.baseline_urls import BASELINE_TABLE, CREATE_BASELINE_TABLE
    from feedback.models import Response

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(CREATE_BASELINE_TABLE)
        cursor.execute(f"TRUNCATE {BASELINE_TABLE}")
    broker = redis.Redis.from_url(settings.REDIS_URL)
    shop, tokens = create_invitations(2 + args.warmup + args.requests)

    server = None
    try:
        # In process first: the visit's steps, sizes and queries (the second visit, so
        # nothing is counted that only a process's first request does).
        in_process(f"/s/{tokens[0]}/?score=9")
        visit, error = in_process(f"/s/{tokens[1]}/?score=9")
        page_bytes = visit[0][3] if visit else 0
        last_bytes = visit[-1][3] if len(visit) > 1 else 0
        write_baseline_templates(settings.BENCH_TEMPLATE_DIR, page_bytes=page_bytes, thanks_bytes=last_bytes)
        baseline_visit, baseline_error = in_process("/bench-baseline/x/?score=9")
        assert not baseline_error, baseline_error
        assert [step[2] for step in baseline_visit] == [200, 302, 200], baseline_visit

        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", str(args.workers),
             "--threads", str(args.threads), "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"],
            cwd=ROOT, env=os.environ.copy(),
        )  # fmt: skip
        _SERVER_PIDS[args.port] = server.pid
        wait_for(args.port)

        phases: dict[str, Phase] = {}
        for side, views in (
            ("baseline", [f"/bench-baseline/b{n}/?score=9" for n in range(args.warmup + args.requests)]),
            ("answer", [f"/s/{token}/?score=9" for token in tokens[2:]]),
        ):
            warm_views = run(args.port, args.users, views[: args.warmup], view)
            phases[f"{side} GET"] = run(args.port, args.users, views[args.warmup :], view)
            run(args.port, args.users, warm_views.prepared(), submit, max_requests=args.max_requests)
            phases[f"{side} POST"] = run(
                args.port, args.users, phases[f"{side} GET"].prepared(), submit, max_requests=args.max_requests
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        Response.objects.filter(shop=shop).delete()
        shop.delete()
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {BASELINE_TABLE}")
        queued = broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)

    report(args, phases, visit=visit, error=error, baseline_visit=baseline_visit, queued=queued)


def wait_for(port: int, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/bench-baseline/up/")
            probe.getresponse().read()
            probe.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def report(
    args: argparse.Namespace,
    phases: dict[str, Phase],
    *,
    visit: list[tuple[str, str, int, int, int]],
    error: str,
    baseline_visit: list[tuple[str, str, int, int, int]],
    queued: int,
) -> None:
    from django.conf import settings

    kind = f"gthread, {args.threads} threads each" if args.threads > 1 else "sync: no keep-alive"
    print(f"gunicorn: {args.workers} workers ({kind}) on {os.cpu_count()} cores, shared with this load generator")
    print(f"load: {args.users} closed-loop users, {args.requests} page views and as many answers a phase, "
          f"after {args.warmup} unmeasured")  # fmt: skip
    per_ip, per_link = ("{}/{}".format(*settings.ANSWER_RATE_LIMIT_PER_IP),
                        "{}/{}".format(*settings.ANSWER_RATE_LIMIT_PER_TOKEN))  # fmt: skip
    print(f"rate limits out of the way in bench/settings.py (ANSWER_RATE_LIMIT_PER_IP={per_ip}, "
          f"ANSWER_RATE_LIMIT_PER_TOKEN={per_link}): this measures the page, not the limiter's refusals "
          "(its Redis counting still runs)")  # fmt: skip
    print(f"one answer, in process (Django's test client; queries by CaptureQueriesContext):\n    {describe(visit)}")
    print(f"the baseline, in process:\n    {describe(baseline_visit)}")
    if error:
        print(f"the answer page failed in process:\n{error}")
    print(f"Celery tasks queued (and deleted, no worker ran): {queued}")
    print()
    print(f"{'':<34}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}  {'CPU ms/request:':<17}{'':>6}   [statuses]")
    print(f"{'':<34}{'':>8}{'':>9}{'':>9}  {'gunicorn':>5} {'bench':>5} {'busy':>5}")
    base_get = line("baseline GET page", phases["baseline GET"], "GET")
    answer_get = line("answer GET /s/<token>/?score=9", phases["answer GET"], "GET")
    ratio("  answer / baseline", answer_get, base_get)
    base_post = line("baseline POST", phases["baseline POST"], "POST")
    line("  then GET after POST", phases["baseline POST"], "GET after POST", cpu=False)
    answer_post = line("answer POST", phases["answer POST"], "POST")
    line("  then GET after POST", phases["answer POST"], "GET after POST", cpu=False)
    ratio("  answer / baseline", answer_post, base_post)
    for side in ("baseline", "answer"):
        print(f"{side} outcomes: views {dict(phases[f'{side} GET'].outcomes)}, "
              f"answers {dict(phases[f'{side} POST'].outcomes)}")  # fmt: skip
    print("target: answer / baseline req/s >= 0.7, p99 < 100 ms at 16 users (figures, not pass/fail)")
    print("answer / baseline rows: req/s higher is better; p50 and p99 are how many times slower")
    print("CPU ms/request: gunicorn's and this load generator's, over every request of the phase; busy: whole machine")
    print(f"reproduce: {reproduce(args)}")


def reproduce(args: argparse.Namespace) -> str:
    """The command line, with any of the bench's environment variables that were set differently."""
    changed = [f"{name}={shlex.quote(os.environ[name])}" for name in BENCH_ENV if os.environ[name] != BENCH_ENV[name]]
    options = ["--workers", args.workers, "--threads", args.threads, "--users", args.users]
    options += ["--requests", args.requests, "--warmup", args.warmup]
    command = shlex.join([".venv/bin/python", "bench/answer_page.py", *map(str, options)])
    return " ".join([*changed, command])


if __name__ == "__main__":
    main()
