"""The README documents every setting and the two set-up commands."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from monitor.config import AcademyConfig, Settings, SourceConfig

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, f in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, key + ".")
        else:
            out.append(key)
    return out


def test_every_setting_is_documented() -> None:
    keys = [k for k in _keys(Settings) if k != "academies"]
    keys += [f"academies.{k}" for k in _keys(AcademyConfig) if k != "sources"]
    keys += [f"academies.sources.{k}" for k in _keys(SourceConfig)]
    missing = [k for k in keys if f"`{k}`" not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_readme_shows_the_two_commands() -> None:
    assert "make run" in README and "make test" in README
