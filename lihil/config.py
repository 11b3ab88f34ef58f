"""The app's configuration: ``AppConfig`` (with ``ServerConfig`` and ``OASConfig``) and where its values come from.

``lhl_read_config(*files)`` builds one config from, in increasing priority:

1. the files, in order (later files win): a ``.toml`` file's ``[lihil]`` table (``[lihil.server]`` for the
   nested ``server`` section), or a ``.env`` file's ``KEY=value`` lines;
2. environment variables named ``LIHIL_<FIELD>``, with ``__`` between sections: ``LIHIL_IS_PROD=true``,
   ``LIHIL_SERVER__PORT=9000``;
3. command-line flags: ``--IS_PROD`` (or ``--IS_PROD false``), ``--server.PORT 9000``, ``--oas.TITLE "My API"``.

Field names match case-insensitively in every source (``port``, ``PORT``). Unknown keys in a file are an error
(a misspelt setting should not pass silently); unknown flags and unrelated environment variables are ignored.
Values are converted to the field's type (``"9000"`` -> ``9000``, ``"true"`` -> ``True``); a value that does not
convert is an :class:`~lihil.errors.AppConfiguringError` naming the field and where the value came from.

The config in use is process-wide: ``Lihil(app_config=...)`` sets it, ``lhl_set_config(...)`` replaces it (no
argument: back to the defaults) and ``lhl_get_config()`` reads it from anywhere.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast, get_args, get_origin, get_type_hints, overload

import msgspec

from .errors import AppConfiguringError

ENV_PREFIX = "LIHIL_"
"""Environment variables that configure the app start with this; ``__`` separates sections."""


class ConfigBase(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config section: immutable, and unknown keys are an error."""

    def asdict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


class OASConfig(ConfigBase, frozen=True):
    """Where the OpenAPI document and its pages would be served."""

    OAS_PATH: str = "/openapi"
    DOC_PATH: str = "/docs"
    TITLE: str = "lihil-OpenAPI"
    PROBLEM_PATH: str = "/problems"
    PROBLEM_TITLE: str = "lihil-Problem Page"
    VERSION: str = "3.1.0"


class ServerConfig(ConfigBase, frozen=True):
    """How :meth:`lihil.Lihil.run` starts uvicorn. ``HOST`` is loopback unless you say otherwise."""

    HOST: str = "127.0.0.1"
    PORT: int = 8000
    WORKERS: int = 1
    RELOAD: bool = False
    ROOT_PATH: str = ""


class AppConfig(ConfigBase, frozen=True):
    """The app's settings. Subclass it (``class MyConfig(AppConfig, frozen=True): ...``) to add your own."""

    IS_PROD: bool = False
    VERSION: str = "0.1.0"
    oas: OASConfig = msgspec.field(default_factory=OASConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)


TConfig = TypeVar("TConfig")
Layer = tuple[dict[str, Any], Callable[[str], str]]
"""The values one source gave, and how to name that source for a field (``"server.PORT"`` -> ``"--server.PORT"``)."""

DEFAULT_CONFIG = AppConfig()
_current: Any = DEFAULT_CONFIG


def lhl_set_config(app_config: Any = None) -> None:
    """Make ``app_config`` the config in use; with no argument, go back to the defaults."""
    global _current
    _current = DEFAULT_CONFIG if app_config is None else app_config


@overload
def lhl_get_config(config_type: None = None) -> AppConfig: ...
@overload
def lhl_get_config(config_type: type[TConfig]) -> TConfig: ...
def lhl_get_config(config_type: Any = None) -> Any:
    """The config in use. ``config_type`` types the result (and is checked, where it is a plain class)."""
    config = _current
    checkable = isinstance(config_type, type) and not getattr(config_type, "_is_protocol", False)
    if checkable and not isinstance(config, config_type):
        raise AppConfiguringError(
            f"lhl_get_config(config_type={config_type.__name__}): the config in use is a "
            f"{type(config).__name__}; set one with Lihil(app_config=...) or lhl_set_config(...)"
        )
    return config


def lhl_read_config(
    *config_files: str | Path,
    config_type: type[TConfig] = AppConfig,  # type: ignore[assignment]
    raise_on_not_found: bool = True,
) -> TConfig | None:
    """Read ``config_type`` from ``config_files``, then ``LIHIL_*`` environment variables, then the command line.

    Returns None when no source gives any value (so ``lhl_read_config() or lhl_get_config()`` falls back to the
    config in use). A missing file raises ``FileNotFoundError`` unless ``raise_on_not_found=False``.
    """
    layers: list[Layer] = []
    for file in config_files:
        path = Path(file)
        if not path.is_file():
            if raise_on_not_found:
                raise FileNotFoundError(f"lhl_read_config: config file {str(path)!r} not found (in {Path.cwd()})")
            continue
        layers.append((_read_file(path), lambda _, path=path: f"file {path}"))  # type: ignore[misc]
    layers.append(_read_env(os.environ, config_type))
    layers.append((_read_cli(sys.argv[1:], config_type), lambda f: f"--{f}"))
    return _build(config_type, layers)


# --- sources ------------------------------------------------------------------------------------------------------


def _read_file(path: Path) -> dict[str, Any]:
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise AppConfiguringError(f"config file {path}: not valid TOML: {exc}") from exc
        table = data.get("lihil")
        if table is None:
            table = data.get("tool", {}).get("lihil")  # pyproject.toml keeps it under [tool.lihil]
        if not isinstance(table, dict):
            raise AppConfiguringError(f"config file {path}: expected a [lihil] table, found {sorted(data)}")
        return table
    if path.suffix == ".env" or path.name == ".env" or path.name.endswith(".env"):
        return _nest(dict(_dotenv_lines(path)), separator="__")
    raise AppConfiguringError(f"config file {path}: expected a .toml or .env file")


def _dotenv_lines(path: Path) -> list[tuple[str, str]]:
    """``KEY=value`` lines; ``#`` comments, blank lines and an ``export`` prefix are allowed, quotes stripped."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise AppConfiguringError(f"config file {path}, line {number}: expected KEY=value, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        pairs.append((key.strip(), value))
    return pairs


def _read_env(environ: Mapping[str, str], config_type: type[Any]) -> Layer:
    """``LIHIL_SERVER__PORT=9000`` -> ``{"server": {"PORT": "9000"}}``, and the variable each value came from."""
    fields = _field_paths(config_type)
    found: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, value in environ.items():
        if name.upper().startswith(ENV_PREFIX):
            dotted = name[len(ENV_PREFIX):].replace("__", ".")
            if dotted.lower() in fields:
                found[dotted] = value
                names[dotted.lower()] = name
    return _nest(found, separator="."), lambda field: names.get(field.lower(), ENV_PREFIX + field)


def _read_cli(argv: Sequence[str], config_type: type[Any]) -> dict[str, Any]:
    # No -h (the host program may have its own), no abbreviations (`--ver` is someone else's flag), and no
    # `--version` alias of `--VERSION`: many programs answer `--version` themselves.
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    for dotted, tp in _field_paths(config_type).values():
        flags = sorted({f"--{dotted}", f"--{dotted.lower()}"} - {"--version"})
        if tp is bool:
            # `--IS_PROD` alone means true; `--IS_PROD false` is accepted too.
            parser.add_argument(*flags, dest=dotted, nargs="?", const="true", default=argparse.SUPPRESS)
        else:
            parser.add_argument(*flags, dest=dotted, default=argparse.SUPPRESS)
    try:
        known, _ = parser.parse_known_args(list(argv))
    except argparse.ArgumentError as exc:
        raise AppConfiguringError(f"command line: {exc}") from exc
    return _nest(vars(known), separator=".")


# --- merging and converting ---------------------------------------------------------------------------------------


def _build(config_type: type[TConfig], layers: list[Layer]) -> TConfig | None:
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for values, label in layers:
        _merge(merged, _canonical(values, config_type), origin, label, prefix="")
    if not merged:
        return None
    try:
        return msgspec.convert(merged, config_type, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec says "Expected `int`, got `str` - at `$.server.PORT`" or "Object contains unknown field `x`".
        message, _, at = str(exc).partition(" - at `$")
        field = at.rstrip("`").lstrip(".")
        if unknown := re.search(r"unknown field `([^`]+)`", message):
            field = f"{field}.{unknown.group(1)}" if field else unknown.group(1)
        came_from = f" (from {origin[field]})" if field in origin else ""
        raise AppConfiguringError(f"{config_type.__name__}: {field or 'config'}{came_from}: {message}") from exc


def _merge(into: dict[str, Any], new: dict[str, Any], origin: dict[str, str], label: Callable[[str], str],
           prefix: str) -> None:
    """Deep-merge ``new`` into ``into``; remember which source gave each leaf."""
    for key, value in new.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            if not isinstance(into.get(key), dict):
                into[key] = {}
            _merge(into[key], value, origin, label, prefix=dotted + ".")
        else:
            into[key] = value
            origin[dotted] = label(dotted)


def _canonical(values: dict[str, Any], config_type: type[Any]) -> dict[str, Any]:
    """Spell each key as its field does (``port`` -> ``PORT``); keys no field has are kept for the error."""
    names = {name.lower(): name for name in getattr(config_type, "__struct_fields__", ())}
    hints = _hints(config_type)
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = names.get(str(key).lower(), key)
        section = _struct_type(hints.get(name))
        out[name] = _canonical(value, section) if isinstance(value, dict) and section is not None else value
    return out


def _field_paths(config_type: type[Any], prefix: str = "") -> dict[str, tuple[str, Any]]:
    """``{"server.port": ("server.PORT", int), ...}``: every leaf field, by its lower-cased dotted path."""
    paths: dict[str, tuple[str, Any]] = {}
    for name, tp in _hints(config_type).items():
        dotted = f"{prefix}{name}"
        section = _struct_type(tp)
        if section is not None:
            paths.update(_field_paths(section, prefix=dotted + "."))
        else:
            paths[dotted.lower()] = (dotted, tp)
    return paths


def _hints(config_type: type[Any]) -> dict[str, Any]:
    fields = getattr(config_type, "__struct_fields__", ())
    try:
        hints = get_type_hints(config_type)
    except Exception:  # an annotation that cannot be resolved: only the names are known
        hints = {}
    return {name: hints.get(name, Any) for name in fields}


def _struct_type(tp: Any) -> type[Any] | None:
    """The config section class behind ``tp`` (also through ``Section | None``), or None for a plain value."""
    candidates = get_args(tp) if get_origin(tp) is not None else (tp,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return cast(type[Any], candidate)
    return None


def _nest(flat: Mapping[str, Any], *, separator: str) -> dict[str, Any]:
    """``{"server.PORT": "1"}`` -> ``{"server": {"PORT": "1"}}``."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *sections, leaf = key.split(separator)
        level = nested
        for section in sections:
            level = level.setdefault(section, {})
        level[leaf] = value
    return nested
