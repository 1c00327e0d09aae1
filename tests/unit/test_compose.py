"""deploy/compose.yaml without a Docker engine: every service is there, every SPN service
runs a module that exists with settings it reads, every port matches what Prometheus
scrapes, and every mounted path and the image's sources exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.alerts.settings import AlertsSettings
from services.plans.settings import PlansSettings
from services.rollup.settings import RollupSettings
from services.status.settings import StatusSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SETTINGS: dict[str, type[BaseSettings]] = {
    "plans": PlansSettings, "status": StatusSettings, "rollup": RollupSettings,
    "alerts": AlertsSettings,
}  # fmt: skip


def environment_names(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    return {str(f.validation_alias) if f.validation_alias else f"{prefix}{name}".upper()
            for name, f in settings.model_fields.items()}  # fmt: skip


def test_every_part_of_the_stack_is_a_service():
    assert set(COMPOSE["services"]) == {"nats", "postgres", "plans", "status", "rollup",
                                        "alerts", "prometheus", "grafana"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_spn_service_runs_its_module_with_settings_it_reads(name: str):
    service = COMPOSE["services"][name]
    assert service["command"] == ["python", "-m", f"services.{name}"]
    assert (DEPLOY.parent / "services" / name / "__main__.py").is_file()
    environment = {k: str(v) for k, v in service["environment"].items()}
    unknown = {k for k in environment if k.startswith("SPN_")} - environment_names(SETTINGS[name])
    assert unknown == set(), f"{name} reads no such setting"
    assert environment["SPN_NATS_URL"] == "nats://nats:4222"
    database = r"postgresql://spn:\$\{POSTGRES_PASSWORD:-spn\}@postgres:5432/spn"
    assert re.fullmatch(database, environment["SPN_DATABASE_URL"])
    port = environment[f"SPN_{name.upper()}_HTTP_PORT"]
    assert service["expose"] == [port]
    assert environment["SPN_HTTP_HOST"] == "0.0.0.0"  # else Prometheus cannot reach it


def test_prometheus_scrapes_each_service_where_compose_serves_it():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"]
               for job in config["scrape_configs"]}  # fmt: skip
    for name in SETTINGS:
        port = COMPOSE["services"][name]["environment"][f"SPN_{name.upper()}_HTTP_PORT"]
        assert targets[f"spn-{name}"] == [f"{name}:{port}"]
    for path in config["rule_files"]:  # relative to the mounted configuration
        assert (DEPLOY / "prometheus" / path).is_file()


def test_every_mounted_path_and_the_image_s_sources_exist():
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} uses volume {source}"
    build = COMPOSE["services"]["plans"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    dockerfile = context / build["dockerfile"]
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (context / source).exists(), f"the image copies {source}"


def test_grafana_gets_the_provisioning_and_the_boards_it_names():
    grafana = COMPOSE["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("."))
    providers = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "spn.yml")
                               .read_text())["providers"]  # fmt: skip
    assert mounts["./grafana/dashboards"] == providers[0]["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    assert sorted(p.name for p in (DEPLOY / "grafana" / "dashboards").glob("*.json"))
