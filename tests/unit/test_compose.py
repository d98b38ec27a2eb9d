"""docker-compose.yml, checked without a Docker daemon: settings that exist, health everywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OURS = {name for name, service in SERVICES.items() if service.get("build") == "."}
SETTINGS = {name.upper() for name in Settings.model_fields}


def test_every_variable_set_for_the_bot_is_a_real_setting() -> None:
    assert {"bot", "migrate"} == OURS
    for name in OURS:
        environment = SERVICES[name].get("environment", {})
        unknown = sorted(set(environment) - SETTINGS)
        assert unknown == [], f"{name} sets {unknown}, which the bot does not read"


def test_variables_named_in_the_comments_are_real_settings_too() -> None:
    header = (ROOT / "docker-compose.yml").read_text(encoding="utf-8").split("x-bot:", 1)[0]
    named = set(re.findall(r"\b([A-Z][A-Z_]{3,})=", header))
    ours = named - {"PUBLIC_HOST", "POSTGRES_PASSWORD"}  # read by the proxy and PostgreSQL
    assert ours <= SETTINGS, sorted(ours - SETTINGS)


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in SERVICES.items():
        check = service.get("healthcheck", {})
        if service.get("restart") == "no":
            # A one-shot job: `service_completed_successfully` is what the others wait for.
            assert check == {"disable": True}, name
            continue
        assert check.get("test"), f"{name} has no healthcheck"


def test_the_one_box_default_needs_no_profile_and_the_scale_profile_adds_the_rest() -> None:
    default = {name for name, service in SERVICES.items() if not service.get("profiles")}
    assert default == {"bot"}
    scale = {name for name, service in SERVICES.items() if "scale" in service.get("profiles", [])}
    assert scale == {"migrate", "postgres", "redis", "proxy"}
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["redis"]["image"].startswith("redis:7")
    for dependency in ("migrate", "postgres", "redis"):
        assert SERVICES["bot"]["depends_on"][dependency]["required"] is False, "optional on one box"


def test_stop_grace_covers_the_shutdown_grace() -> None:
    grace = float(Settings.model_fields["shutdown_grace"].default)
    stop = SERVICES["bot"]["stop_grace_period"]
    assert stop.endswith("s") and float(stop[:-1]) > grace


def test_the_proxy_routes_only_to_ready_replicas_and_hides_metrics() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert "health_uri /readyz" in caddyfile
    assert "@internal path /metrics /healthz /readyz" in caddyfile
    mounts = SERVICES["proxy"]["volumes"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in mounts
