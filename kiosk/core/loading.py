"""Loading the configuration: TOML files in, a checked :class:`~kiosk.core.settings.Config` out.

Every problem is reported at once, each with its file, line, key and the fix, so a
technician mends a file in one pass. An invalid new configuration never replaces the
last good one: the shell starts on the last good copy and says why in its log.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kiosk.core import places, setup
from kiosk.core.catalogue import with_national_catalogue
from kiosk.core.policy import Verdict
from kiosk.core.settings import Config, KioskSettings
from kiosk.core.tiles import TilesConfig, icons_dir


@dataclass(frozen=True)
class Problem:
    file: Path
    key: str
    message: str
    fix: str
    line: int | None = None


class ConfigError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(f"{len(problems)} configuration problem(s)")
        self.problems = list(problems)


@dataclass(frozen=True)
class LoadResult:
    config: Config
    problems: list[Problem]
    from_last_good: bool


# -- reading and checking ------------------------------------------------------------------


def _read_toml(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [
            Problem(path, "(file)", "the file does not exist", f"create {path.name} (copy the sample from config/)")
        ]
    except (OSError, UnicodeDecodeError) as error:
        return None, [
            Problem(path, "(file)", f"cannot read the file: {error}", "check its permissions and that it is UTF-8 text")
        ]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as error:
        line = _toml_error_line(str(error))
        return None, [
            Problem(
                path,
                "(syntax)",
                f"TOML syntax error: {error}",
                "fix the syntax at that line (quotes, brackets, '=')",
                line,
            )
        ]


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _key_path(loc: Sequence[int | str], data: dict[str, Any]) -> str:
    """pydantic's location as a readable key: tiles[id="caf"].url, session.idle_timeout_s."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            label = str(item)
            if isinstance(node, list) and 0 <= item < len(node) and isinstance(node[item], dict) and "id" in node[item]:
                label = f'id="{node[item]["id"]}"'
            parts[-1:] = [f"{parts[-1]}[{label}]"] if parts else [f"[{label}]"]
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def _find_line(path: Path, loc: Sequence[int | str]) -> int | None:
    """Best effort: the line of the last named key of ``loc`` (within the n-th table if indexed)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    start = 0
    names = [x for x in loc if isinstance(x, str)]
    indices = [x for x in loc if isinstance(x, int)]
    if names and indices:
        header = re.compile(rf"^\s*\[\[\s*{re.escape(names[0])}\s*\]\]")
        count = -1
        for number, text in enumerate(lines):
            if header.match(text):
                count += 1
                if count == indices[0]:
                    start = number
                    break
    key = names[-1] if names else None
    if key is None:
        return start + 1 if start else None
    pattern = re.compile(rf"^\s*(\[\s*)?{re.escape(key)}\s*(=|\])")
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            return number + 1
    return start + 1 if start else None


_FIXES = {
    "extra_forbidden": "remove this key or correct its spelling (see the sample in config/)",
    "missing": "add this key",
    "int_parsing": "give a whole number",
    "int_type": "give a whole number",
    "float_parsing": "give a number",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "enum": "use one of the allowed values listed in the message",
    "literal_error": "use one of the allowed values listed in the message",
    "greater_than_equal": "give a larger value",
    "less_than_equal": "give a smaller value",
    "string_too_short": "give a non-empty text",
    "string_too_long": "shorten the text",
    "too_short": "add at least one entry",
}


def _validation_problems(path: Path, data: dict[str, Any], error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = item["loc"]
        message = item["msg"].removeprefix("Value error, ")
        fix = _FIXES.get(item["type"], "")
        if item["type"] == "value_error":
            fix = message if "use " in message or "give " in message else "correct the value"
        problems.append(Problem(path, _key_path(loc, data), message, fix or "correct the value", _find_line(path, loc)))
    return problems


def _cross_checks(tiles: TilesConfig, tiles_path: Path, data: dict[str, Any]) -> list[Problem]:
    problems = []
    icons = icons_dir(tiles_path)
    for index, tile in enumerate(tiles.tiles):
        key = f'tiles[id="{tile.id}"]'
        if not (icons / tile.icon).is_file():
            problems.append(
                Problem(
                    tiles_path,
                    f"{key}.icon",
                    f"icon {tile.icon!r} not found in {icons}",
                    "add the SVG file to the icons directory or fix the name",
                    _find_line(tiles_path, ["tiles", index, "icon"]),
                )
            )
        for group in tile.origin_groups:
            if group not in tiles.origin_groups:
                problems.append(
                    Problem(
                        tiles_path,
                        f"{key}.origin_groups",
                        f"unknown origin group {group!r}",
                        f"define [origin_groups] {group} = [...] or remove it",
                        _find_line(tiles_path, ["tiles", index, "origin_groups"]),
                    )
                )
        if not tile.origins and not tile.origin_groups:
            problems.append(
                Problem(
                    tiles_path,
                    f"{key}.origins",
                    "the tile allows no origin at all",
                    'list the hosts the démarche needs, e.g. origins = ["*.caf.fr"]',
                    _find_line(tiles_path, ["tiles", index, "url"]),
                )
            )
            continue
        try:
            verdict = tiles.policy_for(tile).decide(tile.url).verdict
        except ValueError:
            continue
        if verdict is not Verdict.ALLOW:
            problems.append(
                Problem(
                    tiles_path,
                    f"{key}.url",
                    "the start URL is not allowed by the tile's own origins",
                    "add the start URL's host to origins (or fix the URL)",
                    _find_line(tiles_path, ["tiles", index, "url"]),
                )
            )
    return problems


def _load(kiosk_path: Path, tiles_path: Path) -> tuple[Config | None, list[Problem]]:
    problems: list[Problem] = []
    kiosk_data, found = _read_toml(kiosk_path)
    problems += found
    tiles_data, found = _read_toml(tiles_path)
    problems += found
    kiosk: KioskSettings | None = None
    tiles: TilesConfig | None = None
    if kiosk_data is not None:
        try:
            kiosk = KioskSettings.model_validate(kiosk_data)
        except ValidationError as error:
            problems += _validation_problems(kiosk_path, kiosk_data, error)
    if tiles_data is not None:
        try:
            tiles = TilesConfig.model_validate(tiles_data)
        except ValidationError as error:
            problems += _validation_problems(tiles_path, tiles_data, error)
        else:
            problems += _cross_checks(tiles, tiles_path, tiles_data)
    if problems or kiosk is None or tiles is None:
        return None, problems
    return Config(kiosk, tiles, kiosk_path, tiles_path), []


def check_config(kiosk_path: Path, tiles_path: Path) -> list[Problem]:
    return _load(kiosk_path, tiles_path)[1]


def load_config(kiosk_path: Path, tiles_path: Path) -> Config:
    config, problems = _load(kiosk_path, tiles_path)
    if config is None:
        raise ConfigError(problems)
    return config


def load_with_last_good(kiosk_path: Path, tiles_path: Path, last_good_dir: Path) -> LoadResult:
    config, problems = _load(kiosk_path, tiles_path)
    if config is not None:
        _save_last_good(kiosk_path, tiles_path, last_good_dir)
        return LoadResult(config, [], False)
    good_kiosk, good_tiles = last_good_dir / "kiosk.toml", last_good_dir / "tiles.toml"
    if good_kiosk.is_file() and good_tiles.is_file():
        saved, _ = _load(good_kiosk, good_tiles)
        if saved is not None:
            return LoadResult(saved, problems, True)
    raise ConfigError(problems)


def _save_last_good(kiosk_path: Path, tiles_path: Path, last_good_dir: Path) -> None:
    try:
        last_good_dir.mkdir(parents=True, exist_ok=True)
        icons_target = last_good_dir / "icons"
        for source in (kiosk_path, tiles_path):
            target = last_good_dir / source.name
            if target.is_file() and filecmp.cmp(source, target, shallow=False):
                continue  # the usual start: the same config as last time, nothing to write
            fd, tmp = tempfile.mkstemp(dir=last_good_dir, prefix=".tmp-")
            os.close(fd)
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        source_icons = icons_dir(tiles_path)
        if source_icons.is_dir() and source_icons.resolve() != icons_target.resolve():
            shutil.copytree(source_icons, icons_target, copy_function=_copy_if_changed, dirs_exist_ok=True)
    except OSError:
        # Not being able to save a copy must not stop the kiosk; the next start tries again.
        pass


def _copy_if_changed(source: str, target: str) -> None:
    """``copy2`` unless ``target`` already has ``source``'s size and modification time (which
    ``copy2`` gave it last time): the icons are not written again at each start."""
    if not (os.path.isfile(target) and filecmp.cmp(source, target, shallow=True)):
        shutil.copy2(source, target)


def format_problems(problems: Sequence[Problem]) -> str:
    lines = []
    for problem in problems:
        where = f"{problem.file}:{problem.line}" if problem.line else f"{problem.file}"
        lines.append(f"{where}: {problem.key}: {problem.message}\n    fix: {problem.fix}")
    lines.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.")
    return "\n".join(lines)


def with_env_overrides(settings: KioskSettings) -> KioskSettings:
    """Apply KIOSK_DATA_DIR, KIOSK_SESSION_ROOT, KIOSK_LAST_GOOD_DIR and KIOSK_SETUP_REQUIRED when set."""
    updates: dict[str, Any] = {}
    paths = {key: Path(os.environ[env]) for env, key in places.ENV_OVERRIDES.items() if os.environ.get(env)}
    if paths:
        updates["paths"] = settings.paths.model_copy(update=paths)
    required = os.environ.get("KIOSK_SETUP_REQUIRED", "")
    if required in ("0", "1"):
        updates["setup"] = settings.setup.model_copy(update={"required": required == "1"})
    return settings.model_copy(update=updates) if updates else settings


def _merged(base: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in local.items():
        below = merged.get(key)
        merged[key] = _merged(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return merged


def with_local_settings(config: Config, data_dir: Path) -> tuple[Config, list[Problem]]:
    """``kiosk.toml`` with the first-boot setup's ``local.toml`` merged over it (the root file
    system is read-only: the technician's answers live on the data partition). A broken
    ``local.toml`` is reported and left out: the kiosk goes on with ``kiosk.toml`` alone."""
    path = setup.local_settings_path(data_dir)
    if not path.is_file():
        return config, []
    local, problems = _read_toml(path)
    if local is None:
        return config, problems
    if "paths" in local:
        fix = "remove [paths]: the local settings live under data_dir and cannot move it"
        return config, [Problem(path, "paths", "[paths] cannot be set here", fix, _find_line(path, ["paths"]))]
    base, problems = _read_toml(config.kiosk_path)
    if base is None:
        return config, problems
    try:
        settings = KioskSettings.model_validate(_merged(base, local))
    except ValidationError as error:
        return config, _validation_problems(path, local, error)
    return Config(settings, config.tiles, config.kiosk_path, config.tiles_path), []


def load_for_process(config_dir: Path) -> LoadResult:
    """What the shell, the agent and the report load: the config in ``config_dir`` (or the last
    good copy if it is invalid) with the environment's path overrides applied.

    Raises :class:`ConfigError` when the config is invalid and no good copy exists.
    """
    result = load_with_last_good(config_dir / "kiosk.toml", config_dir / "tiles.toml", places.last_good_dir())
    data_dir = with_env_overrides(result.config.kiosk).paths.data_dir
    config, local_problems = with_local_settings(result.config, data_dir)
    settings = with_env_overrides(config.kiosk)
    fixed = Config(kiosk=settings, tiles=config.tiles, kiosk_path=config.kiosk_path, tiles_path=config.tiles_path)
    problems = result.problems + local_problems
    return LoadResult(with_national_catalogue(fixed, settings.paths.data_dir), problems, result.from_last_good)
