"""`AppConfig` and where its values come from: files, `LIHIL_*` environment variables, command-line flags.

The command line and the environment are the process's real ones, set per test with pytest's `monkeypatch`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lihil import AppConfig, Lihil
from lihil.config import (
    ConfigBase,
    OASConfig,
    ServerConfig,
    lhl_get_config,
    lhl_read_config,
    lhl_set_config,
)
from lihil.errors import AppConfiguringError


@pytest.fixture(autouse=True)
def clean_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No stray LIHIL_* variables or flags from the test runner; the process-wide config reset afterwards."""
    for name in [n for n in os.environ if n.upper().startswith("LIHIL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr("sys.argv", ["app.py"])
    yield
    lhl_set_config()


def _toml(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_bind_loopback() -> None:
    config = AppConfig()
    assert config.server == ServerConfig(HOST="127.0.0.1", PORT=8000, WORKERS=1, RELOAD=False, ROOT_PATH="")
    assert (config.IS_PROD, config.VERSION, config.oas) == (False, "0.1.0", OASConfig())
    assert config.server.asdict()["HOST"] == "127.0.0.1"


def test_toml_files_merge_in_order_and_keys_match_in_any_case(tmp_path: Path) -> None:
    base = _toml(tmp_path, "base.toml", '[lihil]\nis_prod = true\nVERSION = "1.0"\n[lihil.server]\nport = 9000\n')
    local = _toml(tmp_path, "local.toml", '[lihil.server]\nHOST = "0.0.0.0"\n')

    config = lhl_read_config(base, local)

    assert config is not None
    assert (config.IS_PROD, config.VERSION) == (True, "1.0")
    assert (config.server.HOST, config.server.PORT, config.server.WORKERS) == ("0.0.0.0", 9000, 1)


def test_environment_beats_files_and_flags_beat_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = _toml(tmp_path, "settings.toml", "[lihil.server]\nport = 9000\nworkers = 2\n")
    monkeypatch.setenv("LIHIL_SERVER__PORT", "9100")
    monkeypatch.setenv("LIHIL_IS_PROD", "true")
    monkeypatch.setenv("PORT", "1")  # not ours: no LIHIL_ prefix

    from_env = lhl_read_config(file)
    assert from_env is not None
    assert (from_env.server.PORT, from_env.server.WORKERS, from_env.IS_PROD) == (9100, 2, True)

    monkeypatch.setattr("sys.argv", ["app.py", "-v", "--server.PORT", "9200", "--IS_PROD", "false", "--other", "x"])
    from_cli = lhl_read_config(file)
    assert from_cli is not None
    assert (from_cli.server.PORT, from_cli.IS_PROD) == (9200, False)


def test_a_bare_bool_flag_means_true_and_flags_take_lower_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["app.py", "--is_prod", "--server.workers", "4", "--oas.TITLE", "My API"])
    config = lhl_read_config()
    assert config is not None
    assert (config.IS_PROD, config.server.WORKERS, config.oas.TITLE) == (True, 4, "My API")


def test_flags_that_are_not_ours_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["tool", "--version", "--ver", "1", "-h", "--serve", "x"])
    assert lhl_read_config() is None  # `--version` is the host program's; nothing abbreviates our flags
    monkeypatch.setattr("sys.argv", ["app.py", "--server.PORT"])
    with pytest.raises(AppConfiguringError, match=r"command line: argument --server\.PORT.*expected one argument"):
        lhl_read_config()


def test_no_source_gives_none_so_the_config_in_use_stays(tmp_path: Path) -> None:
    assert lhl_read_config() is None
    assert lhl_read_config(tmp_path / "absent.toml", raise_on_not_found=False) is None
    with pytest.raises(FileNotFoundError, match=r"absent\.toml"):
        lhl_read_config(tmp_path / "absent.toml")


def test_errors_name_the_field_and_where_the_value_came_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    typo = _toml(tmp_path, "typo.toml", "[lihil.server]\nPROT = 9000\n")
    with pytest.raises(AppConfiguringError, match=r"server\.PROT \(from file .*typo\.toml\): .*unknown field"):
        lhl_read_config(typo)

    monkeypatch.setenv("LIHIL_SERVER__PORT", "eighty")
    with pytest.raises(AppConfiguringError, match=r"server\.PORT \(from LIHIL_SERVER__PORT\): Expected `int`"):
        lhl_read_config()

    monkeypatch.delenv("LIHIL_SERVER__PORT")
    monkeypatch.setattr("sys.argv", ["app.py", "--server.WORKERS", "many"])
    with pytest.raises(AppConfiguringError, match=r"server\.WORKERS \(from --server\.WORKERS\): Expected `int`"):
        lhl_read_config()

    no_table = _toml(tmp_path, "other.toml", "[tool.black]\nline-length = 100\n")
    with pytest.raises(AppConfiguringError, match=r"expected a \[lihil\] table"):
        lhl_read_config(no_table)


class JWTConfig(AppConfig, frozen=True, kw_only=True):
    JWT_SECRET: str
    JWT_ALGORITHM: str = "HS256"


def test_dotenv_file_and_an_extended_config_type(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# secrets\nJWT_SECRET='s3cret'\nexport JWT_ALGORITHM=HS512\nSERVER__PORT=7000\n")
    config = lhl_read_config(env, config_type=JWTConfig)
    assert config is not None
    assert (config.JWT_SECRET, config.JWT_ALGORITHM, config.server.PORT) == ("s3cret", "HS512", 7000)


def test_lihil_sets_the_process_wide_config() -> None:
    config = AppConfig(VERSION="2.0", server=ServerConfig(PORT=9999))
    app = Lihil(app_config=config)
    assert lhl_get_config() is config
    assert app.config is config

    replacement = AppConfig(VERSION="3.0")
    app.config = replacement
    assert lhl_get_config() is replacement
    with pytest.raises(AppConfiguringError, match=r"Lihil\.config: expected a config"):
        app.config = None

    lhl_set_config()
    assert lhl_get_config() == AppConfig()


def test_lihil_without_a_config_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIHIL_VERSION", "4.5")
    assert Lihil().config.VERSION == "4.5"


def test_get_config_checks_the_type_asked_for() -> None:
    lhl_set_config(AppConfig())
    with pytest.raises(AppConfiguringError, match=r"config_type=JWTConfig\): the config in use is a AppConfig"):
        lhl_get_config(JWTConfig)
    custom = JWTConfig(JWT_SECRET="x")
    lhl_set_config(custom)
    assert lhl_get_config(JWTConfig) is custom


def test_config_sections_refuse_unknown_keywords() -> None:
    with pytest.raises(TypeError):
        ServerConfig(PROT=1)  # type: ignore[call-arg]
    assert issubclass(AppConfig, ConfigBase)
