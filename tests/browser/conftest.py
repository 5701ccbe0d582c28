"""Real browser tests: Debian's Chromium driven by Playwright, against pytest-django's live_server.

Use the `page` fixture with `live_server` (which brings `transactional_db`), and
`axe_violations(page)` for an accessibility scan with the axe-core bundled in
axe-playwright-python, so no network is needed.
"""

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# A phone: most customers open the survey link from an email or SMS on one.
PHONE = {"width": 390, "height": 844}

_axe = Axe()


# Package scope rather than session scope, on purpose. Playwright's sync API marks its
# asyncio loop as running in the main thread from the first call until it stops. While it
# does, Django refuses ORM calls from that thread (SynchronousOnlyOperation), and
# asyncio.run() or async_to_sync() in any later test would fail too. Stopping Playwright
# when the last browser test is done gives the rest of the suite a plain thread again.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM_PATH).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM_PATH}: run .ci/ensure-chromium or set CHROMIUM_PATH")
    # The ORM calls in a browser test are plain synchronous code; Django objects only
    # because of the flag Playwright's loop leaves on the thread. The variable is set for
    # exactly as long as that loop exists, so no other test runs with it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True)
            yield browser
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A new context per test: no cookies, storage or session shared between tests.
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@dataclass(frozen=True, repr=False)
class AxeViolation:
    rule: str
    impact: str
    help: str
    help_url: str
    targets: tuple[str, ...]

    def __repr__(self) -> str:
        # Read in pytest's assertion message: what is wrong, and where.
        return f"{self.rule} ({self.impact}): {self.help} at {', '.join(self.targets)}"


def pytest_assertrepr_compare(op: str, left: Any, right: Any) -> list[str] | None:
    # `assert axe_violations(page) == []` fails with every violation, one a line, not just the first.
    if op != "==" or right != [] or not isinstance(left, list) or not left:
        return None
    if not all(isinstance(item, AxeViolation) for item in left):
        return None
    return [f"{len(left)} axe-core violation(s):", *(f"{item!r} ({item.help_url})" for item in left)]


def _selector(target: Any) -> str:
    # axe gives a list of selectors for an element inside iframes or shadow roots.
    return " >> ".join(target) if isinstance(target, list) else str(target)


def axe_violations(page: Page, *, impact: Collection[str] = frozenset({"serious", "critical"})) -> list[AxeViolation]:
    """The page's axe-core violations at the given impacts; `assert axe_violations(page) == []` reads well."""
    results = _axe.run(page)
    return [
        AxeViolation(
            rule=violation["id"],
            impact=violation["impact"],
            help=violation["help"],
            help_url=violation["helpUrl"],
            targets=tuple(_selector(node["target"]) for node in violation["nodes"]),
        )
        for violation in results.response["violations"]
        if violation["impact"] in impact
    ]
