"""Settings from LABORWATCH_* variables: bad values fail at start, with the setting named."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from libs.common.settings import EMBEDDED_DATABASE_URL, Settings

PG = "postgresql+asyncpg://laborwatch@db.internal:5432/laborwatch"
SECRET = "s" * 32
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture(autouse=True)
def no_laborwatch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the settings it sets."""
    for name in list(os.environ):
        if name.startswith("LABORWATCH_"):
            monkeypatch.delenv(name)


def error_fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, ...]]:
    return [tuple(str(p) for p in e["loc"]) for e in exc.value.errors()]


def test_the_embedded_default_needs_nothing(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    assert settings.database_url == EMBEDDED_DATABASE_URL
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.kafka_bootstrap_servers is None
    assert settings.is_embedded
    assert settings.is_sqlite
    assert settings.secret_key is None
    assert settings.hotline_webhook_secret is None
    assert settings.time_scale == 1.0
    assert not settings.drill
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_settings_come_from_laborwatch_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABORWATCH_DATABASE_URL", PG)
    monkeypatch.setenv("LABORWATCH_SECRET_KEY", SECRET)
    monkeypatch.setenv("LABORWATCH_PORT", "9000")
    monkeypatch.setenv("LABORWATCH_TIME_SCALE", "60")
    monkeypatch.setenv("LABORWATCH_HOTLINE_WEBHOOK_SECRET", WHSEC)
    monkeypatch.setenv("DATABASE_URL", "mysql://not-ours")  # no prefix: not read
    settings = Settings()
    assert settings.database_url == PG
    assert settings.port == 9000
    assert settings.time_scale == 60
    assert settings.drill
    assert settings.hotline_webhook_secret == WHSEC
    assert not settings.is_embedded
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    "url",
    ["mysql://x", "postgresql://u@h/db", "sqlite:///var/x.db", "postgres+asyncpg://u@h/db", ""],
)
def test_an_unsupported_database_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(database_url=url, secret_key=SECRET)
    assert ("database_url",) in error_fields(exc)
    assert "postgresql+asyncpg://" in str(exc.value)


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("MDEyMzQ1Njc4OWFiY2RlZg==", "whsec_"),  # no prefix
        ("whsec_not base64!", "base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "16 bytes"),
    ],
)
def test_a_bad_webhook_secret_is_refused(secret: str, why: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(hotline_webhook_secret=secret)
    assert ("hotline_webhook_secret",) in error_fields(exc)
    assert why in str(exc.value)


def test_an_empty_webhook_secret_means_none() -> None:
    assert Settings(hotline_webhook_secret="").hotline_webhook_secret is None
    assert Settings(hotline_webhook_secret=WHSEC).hotline_webhook_secret == WHSEC


def test_a_short_secret_key_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(database_url=PG, secret_key="s" * 31)
    assert ("secret_key",) in error_fields(exc)
    assert "32" in str(exc.value)
    assert Settings(database_url=PG, secret_key="s" * 32).secret_key == "s" * 32


@pytest.mark.parametrize(
    "overrides",
    [
        {"database_url": PG},
        {"kafka_bootstrap_servers": "broker:9092"},
        {"database_url": PG, "kafka_bootstrap_servers": "broker:9092"},
        {"database_url": PG, "secret_key": ""},
    ],
)
def test_the_secret_key_is_required_outside_the_embedded_default(
    overrides: dict[str, str],
) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(**overrides)  # type: ignore[arg-type]
    assert "LABORWATCH_SECRET_KEY" in str(exc.value)
    assert not Settings(**{**overrides, "secret_key": SECRET}).is_embedded  # type: ignore[arg-type]


def test_blank_kafka_servers_mean_the_in_process_bus() -> None:
    settings = Settings(kafka_bootstrap_servers="   ")
    assert settings.kafka_bootstrap_servers is None
    assert settings.is_embedded


@pytest.mark.parametrize("scale", [0, -1, -0.5])
def test_time_scale_must_be_positive(scale: float) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(time_scale=scale)
    assert ("time_scale",) in error_fields(exc)


def test_a_time_scale_below_one_is_allowed_and_is_a_drill() -> None:
    settings = Settings(time_scale=0.5)
    assert settings.drill


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_port_must_be_a_tcp_port(port: int) -> None:
    with pytest.raises(ValidationError):
        Settings(port=port)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]


def test_the_embedded_secret_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = Settings(var_dir=var)
    key = first.effective_secret_key
    path = var / "secret.key"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert key == first.effective_secret_key
    # A second process (a second Settings) reads the same key; it is not made again.
    second = Settings(var_dir=var)
    assert second.effective_secret_key == key
    assert path.read_text().strip() == key
    # Another var directory is another key.
    assert Settings(var_dir=tmp_path / "other").effective_secret_key != key


def test_a_given_secret_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", secret_key=SECRET)
    assert settings.effective_secret_key == SECRET
    assert not (tmp_path / "var").exists()
