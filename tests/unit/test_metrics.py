"""Metrics: bounded labels, what a scrape shows, and one registry per instance."""

from __future__ import annotations

import logging
import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.commands import Chat, GenerateImage
from bot.observability.metrics import Metrics, endpoint_template

Labels = frozenset[tuple[str, str]]


def scrape(metrics: Metrics) -> dict[tuple[str, Labels], float]:
    """Every sample of one `render()`, parsed back the way Prometheus would."""
    body, _ = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return scrape(metrics).get((name, frozenset(labels.items())))


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/chat/completions", "/v1/chat/completions"),
        ("/v1/models", "/v1/models"),
        ("/mj/submit/imagine", "/mj/submit/imagine"),
        ("/mj/task/1712345678901234/fetch", "/mj/task/{id}/fetch"),
        ("/mj/task/1712345678901234/image-seed", "/mj/task/{id}/image-seed"),
        ("/mj/task/sim-task-abc/fetch", "/mj/task/{id}/fetch"),  # an id without digits still is one
        ("/mj/task/list-by-condition", "/mj/task/list-by-condition"),
        ("/mj/image/a1b2c3", "/mj/image/{id}"),
        ("https://api.wenwen-ai.com/mj/task/42/fetch?x=1", "/mj/task/{id}/fetch"),
        ("/v1/chat/completions/", "/v1/chat/completions"),
        ("v1/models", "/v1/models"),
        ("/v1/files/file-9f8e/content", "/v1/files/{id}/content"),  # unknown routes stay bounded too
        ("", "/"),
    ],
)
def test_endpoint_template(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_every_family_is_wenwen_and_documented() -> None:
    body, content_type = Metrics().render()
    assert content_type.startswith("text/plain")
    families = list(text_string_to_metric_families(body.decode()))
    names = {family.name for family in families}
    assert {
        "wenwen_updates_received",
        "wenwen_updates_duplicate",
        "wenwen_handler_seconds",
        "wenwen_gateway_requests",
        "wenwen_gateway_seconds",
        "wenwen_platform_api_errors",
        "wenwen_mj_tasks",
        "wenwen_mj_delivered",
        "wenwen_budget_refusals",
        "wenwen_rate_limited",
        "wenwen_db_pool_in_use",
        "wenwen_replica_role",
    } <= names
    assert all(name.startswith("wenwen_") for name in names)
    assert all(family.documentation for family in families)


def test_counters_carry_their_labels() -> None:
    metrics = Metrics()
    metrics.update_received("telegram")
    metrics.update_received("telegram")
    metrics.update_received("discord")
    metrics.update_duplicate("telegram")
    metrics.platform_error("telegram", 429)
    metrics.budget_refused()
    metrics.rate_limited()
    metrics.rate_limited()
    metrics.mj_delivered()

    samples = scrape(metrics)
    assert samples[("wenwen_updates_received_total", frozenset({("platform", "telegram")}))] == 2
    assert samples[("wenwen_updates_received_total", frozenset({("platform", "discord")}))] == 1
    assert samples[("wenwen_updates_duplicate_total", frozenset({("platform", "telegram")}))] == 1
    errors = frozenset({("platform", "telegram"), ("code", "429")})
    assert samples[("wenwen_platform_api_errors_total", errors)] == 1
    assert samples[("wenwen_budget_refusals_total", frozenset())] == 1
    assert samples[("wenwen_rate_limited_total", frozenset())] == 2
    assert samples[("wenwen_mj_delivered_total", frozenset())] == 1


def test_gateway_requests_are_labelled_by_template_and_status() -> None:
    metrics = Metrics()
    metrics.gateway_request("/mj/task/111/fetch", 200, 0.2)
    metrics.gateway_request("/mj/task/222/fetch", 200, 0.4)
    metrics.gateway_request("/v1/chat/completions", "timeout", 30.0)
    metrics.gateway_request("/v1/chat/completions", 502, 1.0)

    samples = scrape(metrics)
    fetch = ("endpoint", "/mj/task/{id}/fetch")
    chat = ("endpoint", "/v1/chat/completions")
    assert samples[("wenwen_gateway_requests_total", frozenset({fetch, ("status", "200")}))] == 2
    assert samples[("wenwen_gateway_requests_total", frozenset({chat, ("status", "timeout")}))] == 1
    assert samples[("wenwen_gateway_requests_total", frozenset({chat, ("status", "502")}))] == 1
    assert samples[("wenwen_gateway_seconds_count", frozenset({fetch}))] == 2
    assert samples[("wenwen_gateway_seconds_sum", frozenset({fetch}))] == pytest.approx(0.6)
    assert samples[("wenwen_gateway_seconds_bucket", frozenset({chat, ("le", "10.0")}))] == 1
    assert samples[("wenwen_gateway_seconds_bucket", frozenset({chat, ("le", "+Inf")}))] == 2
    endpoints = {
        dict(labels).get("endpoint") for name, labels in samples if name.startswith("wenwen_gateway")
    }
    assert endpoints == {"/mj/task/{id}/fetch", "/v1/chat/completions"}


def test_handler_time_is_recorded_under_the_command_class_name() -> None:
    metrics = Metrics()
    metrics.observe_handler("GenerateImage", 3.0)
    with metrics.time_handler(Chat("hello")):
        pass
    with pytest.raises(RuntimeError), metrics.time_handler(GenerateImage("a fox")):
        raise RuntimeError("a failed handler is timed too")

    assert value(metrics, "wenwen_handler_seconds_count", command="Chat") == 1
    assert value(metrics, "wenwen_handler_seconds_count", command="GenerateImage") == 2
    generate_sum = value(metrics, "wenwen_handler_seconds_sum", command="GenerateImage")
    assert generate_sum is not None
    assert generate_sum >= 3.0


def test_mj_gauges_and_role() -> None:
    metrics = Metrics()
    assert value(metrics, "wenwen_mj_tasks", state="pending") == 0
    metrics.mj_pending(7)
    metrics.mj_claimed(2)
    metrics.mj_pending(5)
    assert value(metrics, "wenwen_mj_tasks", state="pending") == 5
    assert value(metrics, "wenwen_mj_tasks", state="claimed") == 2

    assert {value(metrics, "wenwen_replica_role", role=r) for r in ("leader", "standby", "webhook")} == {0}
    metrics.role("standby")
    metrics.role("leader")
    assert value(metrics, "wenwen_replica_role", role="leader") == 1
    assert value(metrics, "wenwen_replica_role", role="standby") == 0
    assert value(metrics, "wenwen_replica_role", role="webhook") == 0
    with pytest.raises(ValueError, match="unknown replica role"):
        metrics.role("primary")  # type: ignore[arg-type]


def test_pool_probe_is_read_at_scrape_time() -> None:
    metrics = Metrics()
    unknown = value(metrics, "wenwen_db_pool_in_use")
    assert unknown is not None
    assert math.isnan(unknown)  # no probe yet: unknown rather than a reassuring zero

    in_use = [3]
    reads: list[int] = []

    def probe() -> int:
        reads.append(in_use[0])
        return in_use[0]

    metrics.set_pool_probe(probe)
    assert reads == []  # nothing is read until a scrape
    assert value(metrics, "wenwen_db_pool_in_use") == 3
    in_use[0] = 8
    assert value(metrics, "wenwen_db_pool_in_use") == 8
    assert reads == [3, 8]


def test_a_failing_pool_probe_does_not_fail_the_scrape(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    metrics.update_received("telegram")

    def broken() -> int:
        raise RuntimeError("pool gone")

    metrics.set_pool_probe(broken)
    with caplog.at_level(logging.WARNING, logger="bot.observability.metrics"):
        samples = scrape(metrics)
    assert math.isnan(samples[("wenwen_db_pool_in_use", frozenset())])
    assert samples[("wenwen_updates_received_total", frozenset({("platform", "telegram")}))] == 1
    assert "pool probe failed" in caplog.text


def test_two_instances_in_one_process_do_not_clash() -> None:
    first, second = Metrics(), Metrics()  # the same names in the global registry would raise
    first.update_received("telegram")
    first.set_pool_probe(lambda: 4)
    second.set_pool_probe(lambda: 1)

    assert value(first, "wenwen_updates_received_total", platform="telegram") == 1
    assert value(second, "wenwen_updates_received_total", platform="telegram") is None
    assert value(first, "wenwen_db_pool_in_use") == 4
    assert value(second, "wenwen_db_pool_in_use") == 1
    assert first.registry is not second.registry
