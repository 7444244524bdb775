"""docker/: no Docker engine runs on the build machines, so check what can be checked — the
compose file parses, every MONITOR_* variable it sets names a real setting, and the image copies
every package and runs the healthcheck the app serves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.config import BUNDLED_EXAMPLE, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_compose_parses_and_names_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = yaml.safe_load((ROOT / "docker/compose.yml").read_text())
    assert {"app", "db", "mail", "migrate", "worker"} <= set(doc["services"])
    services = doc["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["worker"]["command"] == ["worker"] and "ports" not in services["worker"]
    for name in ("app", "worker"):  # both start only after the schema is migrated
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["environment"] == services["app"]["environment"]
    env = doc["services"]["app"]["environment"]
    overrides = {
        k: v.replace("${POSTGRES_PASSWORD:-change-me}", "pw")
        for k, v in env.items()
        if k != "MONITOR_CONFIG"
    }
    for k, v in overrides.items():
        monkeypatch.setenv(k, str(v))
    # Every variable must be accepted by the real settings loader (an unknown one is an error).
    s = load_settings(BUNDLED_EXAMPLE)
    assert s.database_url.startswith("postgresql+psycopg://")
    assert (
        s.mail.smtp_host == "mail" and s.mail.smtp_port == 1025 and s.mail.smtp_security == "none"
    )
    assert s.web.host == "0.0.0.0" and s.queue.backend == "procrastinate"
    mounted = doc["services"]["app"]["volumes"][0].split(":")[0]
    assert (ROOT / "docker" / mounted).resolve() == BUNDLED_EXAMPLE.resolve()


def test_dockerfile_matches_the_project() -> None:
    text = (ROOT / "docker/Dockerfile").read_text()
    for pkg in ("monitor", "sources", "alerts", "examples"):
        assert f"COPY {pkg} ./{pkg}" in text
    assert "torch==2.13.0" in text and "USER monitor" in text
    assert "/healthz" in text and "HF_HUB_OFFLINE=1" in text
    assert "==2.13.0" in (ROOT / "pyproject.toml").read_text()
