"""Run one pass of the real pipeline over a config and report how many threads were ever inside
the lxml-based stages at the same moment (trafilatura's extraction, feedparser, our HTML-to-text).

    python tests/support/stress_probe.py CONFIG [THREADS]

Without THREADS the pipeline runs as monitor builds it; with THREADS its CPU executor is replaced
by a pool of that many threads, as the pipeline was before (to show the probe sees the overlap).
Prints one JSON line: {"max_threads": N, "new_articles": M}. Run as a subprocess by
tests/test_stress.py: lxml run in several threads at once can crash the whole process.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import feedparser
import trafilatura

from monitor import markup
from monitor.app import open_app
from monitor.config import load_config

WATCHED = {trafilatura.bare_extraction.__code__, feedparser.parse.__code__, markup.html_to_text.__code__}


class Overlap:
    """A profile hook (every thread) counting the threads inside the watched functions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth: dict[int, int] = {}
        self.max_threads = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event not in ("call", "return") or frame.f_code not in WATCHED:
            return
        me = threading.get_ident()
        with self.lock:
            self.depth[me] = self.depth.get(me, 0) + (1 if event == "call" else -1)
            inside = sum(1 for d in self.depth.values() if d > 0)
            self.max_threads = max(self.max_threads, inside)


async def one_pass(config_path: Path, threads: int | None) -> int:
    config = load_config(config_path)
    async with open_app(config) as app:
        if threads is None:
            return (await app.pipeline().run_pass(config.enabled_feeds)).new_articles
        with ThreadPoolExecutor(max_workers=threads) as pool:
            summary = await replace(app, cpu=pool).pipeline().run_pass(config.enabled_feeds)
        return summary.new_articles


def main() -> None:
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else None
    probe = Overlap()
    threading.setprofile(probe)
    sys.setprofile(probe)
    new = asyncio.run(one_pass(Path(sys.argv[1]), threads))
    sys.setprofile(None)
    threading.setprofile(None)  # type: ignore[arg-type]  # typeshed wants a function; None unsets
    print(json.dumps({"max_threads": probe.max_threads, "new_articles": new}))


if __name__ == "__main__":
    main()
