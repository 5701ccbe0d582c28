"""An SMTP server that accepts and drops every message, optionally taking a while over each.

    python bench/smtp_sink.py --port 8025 --latency-ms 20

Real relays take tens of milliseconds a message; a sink that answers at once shows what
Bazgasht itself costs per email, one with latency shows whether sending is SMTP-bound.
"""

import argparse
import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller


class SlowSink:
    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.latency:
            await asyncio.sleep(self.latency)
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(SlowSink(args.latency_ms / 1000), hostname="127.0.0.1", port=args.port)
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
