"""Fixtures: a planted store on a real DuckDB file and the app served by uvicorn in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wattlens.config import Config, load_config
from wattlens.store import Store
from wattlens.web import ServerHandle, create_app, serve_in_thread

from .plant import END_S, PlantedFleet, plant


def make_config(tmp: Path, text: str = "", environ: dict[str, str] | None = None) -> Config:
    """Config from a TOML text (empty: defaults), never from the caller's files or env."""
    path = tmp / f"wattlens-{abs(hash(text))}.toml"
    path.write_text(text)
    return load_config(path, environ=environ or {})


class Served:
    """A store, its planted fleet, a running server and an httpx client for it."""

    def __init__(self, store: Store, fleet: PlantedFleet | None, handle: ServerHandle) -> None:
        self.store = store
        self.fleet = fleet
        self.handle = handle
        self.url = handle.url
        self.client = httpx.Client(base_url=handle.url, timeout=30)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def close(self) -> None:
        self.client.close()
        self.handle.stop()
        self.store.close()


def serve(
    store: Store,
    fleet: PlantedFleet | None,
    config: Config,
    clock: Callable[[], float] = lambda: END_S,
) -> Served:
    app = create_app(store=store, config=config, clock=clock, cache_ttl_s=0.0)
    return Served(store, fleet, serve_in_thread(app, "127.0.0.1", 0))


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, config: Config) -> Iterator[Served]:
    """The main planted fleet (8 days, five deployments) behind a real server."""
    store, fleet = plant(tmp_path_factory.mktemp("store") / "wattlens.duckdb")
    s = serve(store, fleet, config)
    yield s
    s.close()
