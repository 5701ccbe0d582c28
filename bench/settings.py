"""Settings for bench/answer_page.py: the app's own, plus a bare baseline view beside the answer page.

Only the bench loads this module; production and tests never see the baseline URLs.
"""

from config.settings import *  # noqa: F403
from config.settings import TEMPLATES, VAR_DIR

ROOT_URLCONF = "bench.baseline_urls"

# answer_page.py writes the baseline's templates here, padded to the size of the real page.
BENCH_TEMPLATE_DIR = VAR_DIR / "bench-templates"
TEMPLATES = [{**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BENCH_TEMPLATE_DIR]}]

# The bench's users all come from 127.0.0.1: limits this high (requests, seconds) measure the
# page, not the limiter's refusals. Its counting in Redis still runs on every request, as in production.
ANSWER_RATE_LIMIT_PER_IP = (1_000_000, 60)
ANSWER_RATE_LIMIT_PER_TOKEN = (1_000_000, 60)
