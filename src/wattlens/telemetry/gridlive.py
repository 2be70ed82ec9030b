"""Live grid carbon intensity: Electricity Maps (average) and WattTime (marginal), one interface.

- `ElectricityMaps`: API v4, header `auth-token`; `/v4/carbon-intensity/latest`, `/history` (the
  last 24 h) and `/past-range` (start/end, at most `PAST_RANGE_MAX_S` per request). Values are
  g CO2eq/kWh, hourly averages of the zone's consumption mix.
- `WattTime`: API v3, `/login` with HTTP basic auth returns a token sent as `Bearer`;
  `/v3/historical` and `/v3/forecast` with `signal_type=co2_moer`. Values are marginal
  (MOER) in lbs CO2/MWh, converted to g/kWh.
- `LiveIntensity`: caches answers (per zone and hour span, `ttl_s`), and falls back to the static
  table (eGRID or the catalog's other regions) when the provider fails or times out, saying why.

Every series states its `source`, `kind` (average or marginal) and `year`; `hourly()` gives the
hourly means that multiply hourly energy (`derive.hourly_carbon`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx

from wattlens.catalog import grid, grid_countries
from wattlens.core.errors import BackendError, CatalogError, ConfigError
from wattlens.core.units import GRAMS_PER_KG, kg_per_kwh_from_lb_per_mwh

Kind = Literal["average", "marginal"]
HOUR_S = 3600.0
PAST_RANGE_MAX_S = 10 * 86400.0  # Electricity Maps: hourly past-range requests span <= 10 days


@dataclass(frozen=True, slots=True)
class IntensityPoint:
    """Intensity (g CO2/kWh) from `start_s` until the next point."""

    start_s: float
    grams_per_kwh: float


@dataclass(frozen=True, slots=True)
class IntensitySeries:
    """Points for one zone, with where they came from (`fallback` says why, when static)."""

    zone: str
    points: tuple[IntensityPoint, ...]
    source: str
    kind: Kind
    year: int | None
    fallback: str | None = None

    def hourly(self) -> dict[float, float]:
        """Hour start (epoch s, UTC) -> mean g/kWh of the points starting in that hour."""
        sums: dict[float, list[float]] = {}
        for p in self.points:
            sums.setdefault(math.floor(p.start_s / HOUR_S) * HOUR_S, []).append(p.grams_per_kwh)
        return {h: sum(v) / len(v) for h, v in sorted(sums.items())}

    def describe(self) -> dict[str, Any]:
        """What an output states about the intensity it used."""
        return {"zone": self.zone, "source": self.source, "kind": self.kind,
                "year": self.year, "fallback": self.fallback}  # fmt: skip


class GridProvider(Protocol):
    """A live intensity source."""

    name: str
    kind: Kind

    def latest(self, zone: str) -> IntensityPoint:
        """The newest published value for a zone."""
        ...

    def history(self, zone: str, start_s: float, end_s: float) -> list[IntensityPoint]:
        """Points with start in [start_s, end_s)."""
        ...


def _iso(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _get(client: httpx.Client, what: str, url: str, **kw: Any) -> Any:
    try:
        resp = client.get(url, **kw)
    except httpx.HTTPError as e:
        raise BackendError(f"{what}: {url} did not answer ({type(e).__name__}: {e})") from e
    if resp.status_code != 200:
        raise BackendError(f"{what}: {url} answered HTTP {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.json()
    except ValueError as e:
        raise BackendError(f"{what}: {url} answered with something that is not JSON") from e


class ElectricityMaps:
    """Electricity Maps API v4 (average intensity of the consumption mix, lifecycle factors)."""

    name = "electricitymaps"
    kind: Kind = "average"

    def __init__(self, token: str, *, base_url: str = "https://api.electricitymaps.com",
                 timeout_s: float = 10.0, client: httpx.Client | None = None,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._clock = clock
        if not token:
            raise ConfigError("Electricity Maps needs an API token (auth-token)", field="token")
        self._client = client or httpx.Client(timeout=timeout_s)
        self._base = base_url.rstrip("/")
        self._headers = {"auth-token": token}

    def _call(self, path: str, **params: str) -> Any:
        url = f"{self._base}/v4/carbon-intensity/{path}"
        return _get(self._client, "Electricity Maps", url, params=params, headers=self._headers)

    @staticmethod
    def _point(row: dict[str, Any]) -> IntensityPoint:
        return IntensityPoint(_epoch(row["datetime"]), float(row["carbonIntensity"]))

    def latest(self, zone: str) -> IntensityPoint:
        """`/v4/carbon-intensity/latest?zone=`."""
        return self._point(self._call("latest", zone=zone))

    def history(self, zone: str, start_s: float, end_s: float) -> list[IntensityPoint]:
        """`/history` when the span is within the last 24 h, else `/past-range` in chunks."""
        if start_s >= self._clock() - 24 * HOUR_S:
            rows = self._call("history", zone=zone)["history"]
        else:
            rows = []
            t = start_s
            while t < end_s:
                stop = min(end_s, t + PAST_RANGE_MAX_S)
                rows += self._call("past-range", zone=zone, start=_iso(t), end=_iso(stop))["data"]
                t = stop
        points = (self._point(r) for r in rows if r.get("carbonIntensity") is not None)
        return sorted((p for p in points if start_s <= p.start_s < end_s), key=lambda p: p.start_s)


class WattTime:
    """WattTime API v3 (marginal operating emissions rate, co2_moer)."""

    name = "watttime"
    kind: Kind = "marginal"
    signal_type = "co2_moer"

    def __init__(self, username: str, password: str, *, base_url: str = "https://api.watttime.org",
                 timeout_s: float = 10.0, client: httpx.Client | None = None) -> None:  # fmt: skip
        if not username or not password:
            raise ConfigError("WattTime needs a username and password", field="username")
        self._client = client or httpx.Client(timeout=timeout_s)
        self._base = base_url.rstrip("/")
        self._auth = (username, password)
        self._token: str | None = None

    def _login(self) -> str:
        body = _get(self._client, "WattTime login", f"{self._base}/login", auth=self._auth)
        self._token = str(body["token"])
        return self._token

    def _call(self, path: str, **params: str) -> Any:
        url = f"{self._base}/v3/{path}"
        for attempt in range(2):  # tokens expire after 30 min: log in again once
            token = self._token or self._login()
            try:
                return _get(self._client, "WattTime", url, params=params,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            except BackendError as e:
                if attempt or "HTTP 401" not in str(e):
                    raise
                self._token = None
        raise AssertionError("unreachable")

    def _points(self, body: dict[str, Any]) -> list[IntensityPoint]:
        units = body.get("meta", {}).get("units", "lbs_co2_per_mwh")
        if units != "lbs_co2_per_mwh":
            raise BackendError(f"WattTime answered in {units!r}; expected lbs_co2_per_mwh")
        return [
            IntensityPoint(_epoch(r["point_time"]),
                           float(kg_per_kwh_from_lb_per_mwh(float(r["value"]))) * GRAMS_PER_KG)
            for r in body["data"]
        ]  # fmt: skip

    def latest(self, zone: str) -> IntensityPoint:
        """The first point of `/v3/forecast` (the current five minutes)."""
        body = self._call("forecast", region=zone, signal_type=self.signal_type, horizon_hours="0")
        return self._points(body)[0]

    def history(self, zone: str, start_s: float, end_s: float) -> list[IntensityPoint]:
        """`/v3/historical?region=&start=&end=&signal_type=co2_moer` (five-minute points)."""
        body = self._call("historical", region=zone, start=_iso(start_s), end=_iso(end_s),
                          signal_type=self.signal_type)  # fmt: skip
        return sorted((p for p in self._points(body) if start_s <= p.start_s < end_s),
                      key=lambda p: p.start_s)  # fmt: skip


def static_series(region: str, vintage: str, start_s: float, end_s: float) -> IntensitySeries:
    """The static table's annual average as a flat hourly series: an eGRID (or catalog) region,
    else a country (ISO alpha-3, OWID annual average)."""
    try:
        r = grid.get_region(region, vintage)
        digits = "".join(ch for ch in vintage if ch.isdigit())  # egrid2024 -> 2024
        year, source = (int(digits) if len(digits) == 4 else None), f"{vintage} (static)"
    except CatalogError:
        r = grid_countries.get_country(region)  # raises, naming both tables' codes, if neither
        year, source = grid_countries.country_year(region), "owid (static)"
    hours = range(math.floor(start_s / HOUR_S), math.ceil(end_s / HOUR_S))
    points = tuple(IntensityPoint(h * HOUR_S, r.intensity_kg_per_kwh * GRAMS_PER_KG) for h in hours)
    return IntensitySeries(r.code, points, source, "average", year)


@dataclass
class LiveIntensity:
    """A provider with a cache and a static fallback; `hourly_series` never raises for I/O."""

    provider: GridProvider | None
    vintage: str = "egrid2024"
    ttl_s: float = 300.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._cache: dict[tuple[str, float, float], tuple[float, IntensitySeries]] = {}

    def series(self, zone: str, region: str, start_s: float, end_s: float) -> IntensitySeries:
        """Live points for `zone` over [start, end), else the static `region` (with the reason)."""
        if self.provider is None:
            return static_series(region, self.vintage, start_s, end_s)
        key = (zone, start_s, end_s)
        hit = self._cache.get(key)
        if hit and self.clock() - hit[0] < self.ttl_s:
            return hit[1]
        try:
            points = self.provider.history(zone, start_s, end_s)
            if not points:
                raise BackendError(f"{self.provider.name} returned no points for {zone}")
        except BackendError as e:
            fallback = static_series(region, self.vintage, start_s, end_s)
            return replace(fallback, fallback=str(e))  # not cached: retry on the next call
        year = datetime.fromtimestamp(points[-1].start_s, UTC).year
        out = IntensitySeries(zone, tuple(points), self.provider.name, self.provider.kind, year)
        self._cache[key] = (self.clock(), out)
        return out


__all__ = [
    "PAST_RANGE_MAX_S",
    "ElectricityMaps",
    "GridProvider",
    "IntensityPoint",
    "IntensitySeries",
    "Kind",
    "LiveIntensity",
    "WattTime",
    "static_series",
]
