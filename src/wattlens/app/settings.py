"""Turn a loaded `Config` into the objects the library runs with (one place, no globals)."""

from __future__ import annotations

from typing import Any

from wattlens.config import Config
from wattlens.derive.carbon import CarbonModel
from wattlens.derive.engine import DeriveOptions
from wattlens.store import RetentionPolicy
from wattlens.telemetry.promapi import PrometheusClient


def derive_options(cfg: Config) -> DeriveOptions:
    """Derivation knobs from the config."""
    return DeriveOptions(
        step_s=cfg.collect.step_s,
        namespaces=frozenset(cfg.backend.namespaces) or None,
        deployment_label=cfg.labels.deployment_label or None,
    )


def carbon_model(cfg: Config) -> CarbonModel:
    """Grid rules, vintage, default region and PUE from the config."""
    rules = tuple(cfg.carbon.grid_rules())
    return CarbonModel(
        vintage=cfg.carbon.grid_vintage,
        default_region=cfg.carbon.default_region,
        rules=rules,
        pue=cfg.carbon.pue,
        intensity_override_kg_per_kwh=cfg.carbon.intensity_override_kg_per_kwh,
    )


def retention_policy(cfg: Config) -> Any:
    """Store retention tiers from the config."""

    return RetentionPolicy(
        raw_s=cfg.store.raw_retention_s,
        five_min_s=cfg.store.five_min_retention_s,
        hourly_s=cfg.store.hourly_retention_s,
    )


def prometheus_client(cfg: Config, url: str | None = None) -> Any:
    """A Prometheus-API client for the configured (or given) backend."""

    b = cfg.backend
    cert = None
    if b.tls_client_cert:  # a combined cert+key PEM may come without a separate key file
        cert = (str(b.tls_client_cert), str(b.tls_client_key or b.tls_client_cert))
    return PrometheusClient(
        url or b.prometheus_url,
        bearer_token=b.bearer_token.reveal() or None,
        bearer_token_file=b.bearer_token_file,
        verify=b.tls_verify if isinstance(b.tls_verify, bool) else str(b.tls_verify),
        client_cert=cert,
        timeout_s=b.timeout_s,
        retries=b.retries,
    )


__all__ = ["carbon_model", "derive_options", "prometheus_client", "retention_policy"]
