"""Composition root: the only place where clients, the store, the language
detector, the translator, the mailer and the clock are built."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from .config import Config
from .fetching import Fetcher, Resolver, build_client, system_resolver
from .language import LanguageDetector
from .pipeline import Pipeline
from .storage import Store

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    config: Config
    store: Store
    fetcher: Fetcher
    detector: LanguageDetector
    clock: Clock

    def pipeline(self) -> Pipeline:
        return Pipeline(
            fetcher=self.fetcher,
            store=self.store,
            detector=self.detector,
            watchlists=self.config.watchlists,
            settings=self.config.fetch,
            clock=self.clock,
        )


def open_store(config: Config) -> Store:
    return Store(config.database)


@asynccontextmanager
async def open_app(
    config: Config,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> AsyncIterator[App]:
    """Build everything a pass needs; close it all afterwards."""
    store = open_store(config)
    client = build_client(config.fetch, transport)
    try:
        fetcher = Fetcher(client, config.fetch, allow_private_networks=config.allow_private_networks,
                          resolver=resolver, clock=clock)
        yield App(config=config, store=store, fetcher=fetcher, detector=LanguageDetector(), clock=clock)
    finally:
        await client.aclose()
        store.close()
