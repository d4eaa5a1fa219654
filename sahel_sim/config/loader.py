"""One validated configuration path: YAML -> ``extends:`` merge -> overrides -> schema.

Scenario files, ``--set key.path=value`` overrides, sweep design points and calibration
candidates all pass through :func:`validate_scenario`; nothing builds a ``Scenario`` another way.

Merging rules (``extends:`` and overrides alike): mappings merge key by key, a ``null`` value
deletes the key it names (so a counterfactual can drop one dated intervention), and any other
value (lists included) replaces what was there.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sahel_sim.config.errors import ConfigError
from sahel_sim.config.schema import INTERVENTION_TYPES, Scenario

MAX_EXTENDS_DEPTH = 10


# --------------------------------------------------------------------------- merging
def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``update`` (see module docstring for the rules)."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Return a copy of ``data`` with the dotted ``path`` set to ``value``.

    Integer parts index into lists (``actors.JNIM.regions.0``); other parts are mapping keys,
    created when missing so the schema can say what is wrong with them.
    """
    parts = [p for p in path.split(".") if p]
    if not parts:
        raise ConfigError(f"--set: empty key path in {path!r}")
    root = copy.deepcopy(data)
    node: Any = root
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            try:
                idx = int(part)
                node[idx]
            except (ValueError, IndexError):
                raise ConfigError(
                    f"--set {path}: {'.'.join(parts[:i]) or '<root>'} is a list of {len(node)}; "
                    f"{part!r} is not an index in it"
                ) from None
            if last:
                node[idx] = value
            else:
                node = node[idx]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"--set {path}: {'.'.join(parts[:i])} is a value, not a mapping")
        if last:
            if value is None:
                node.pop(part, None)
            else:
                node[part] = value
        else:
            node = node.setdefault(part, {})
    return root


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.path=value``; the value is read as YAML (numbers, dates, lists, null)."""
    if "=" not in text:
        raise ConfigError(f"--set {text}: expected key.path=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text}: value is not valid YAML ({exc.__class__.__name__})") from None
    return key.strip(), value


# --------------------------------------------------------------------------- reading
def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    except ValueError as exc:  # e.g. an impossible date such as 2031-02-30
        raise ConfigError(f"{path}: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def resolve_extends(path: Path, *, _depth: int = 0, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and merge it over the file it ``extends:`` (recursively)."""
    path = Path(path)
    real = path.resolve()
    if real in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, real))
        raise ConfigError(f"{path}: extends: circular chain {chain}")
    if _depth > MAX_EXTENDS_DEPTH:
        raise ConfigError(f"{path}: extends: chain deeper than {MAX_EXTENDS_DEPTH}")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: expected a file name, got {parent!r}")
    parent_path = (path.parent / parent) if not Path(parent).is_absolute() else Path(parent)
    if not parent_path.exists():
        raise ConfigError(f"{path}: extends: {parent} not found (looked at {parent_path})")
    base = resolve_extends(parent_path, _depth=_depth + 1, _seen=(*_seen, real))
    return deep_merge(base, data)


# --------------------------------------------------------------------------- validating
def _model_at(model: type[BaseModel] | None, loc: Iterable[Any]) -> type[BaseModel] | None:
    """Walk a pydantic model class along ``loc`` to find the model that holds the last key."""
    import typing

    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        if field is None:
            # a dict key (actor id) or a discriminator tag: look inside containers
            continue
        ann = field.annotation
        for _ in range(4):
            args = typing.get_args(ann)
            origin = typing.get_origin(ann)
            if origin is dict and args:
                ann = args[1]
            elif origin in (list, tuple) and args:
                ann = args[0]
            elif args and origin is not None and origin is not typing.Literal:
                models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
                ann = models[0] if len(models) == 1 else (args[0] if origin is typing.Annotated else ann)
                if origin is not typing.Annotated and len(models) != 1:
                    break
            else:
                break
        current = ann
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _format_loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in INTERVENTION_TYPES and out.startswith("interventions"):
            continue  # pydantic's discriminator tag is not a key the user wrote
        else:
            out += f".{part}" if out else str(part)
    return out or "<top level>"


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One readable line per problem: ``file: key.path: what was expected``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = _format_loc(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = _model_at(Scenario, loc[:-1])
            hint = ""
            if parent is not None:
                keys = [f.alias or k for k, f in parent.model_fields.items()]
                close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(keys)}"
            msg = f"unknown key{hint}"
        elif kind == "missing":
            msg = "required key is missing"
        elif kind == "union_tag_invalid":
            msg = f"unknown intervention type {err.get('input', {}).get('type')!r}; expected one of: {', '.join(INTERVENTION_TYPES)}"
        elif (kind == "literal_error" and "Region" in str(err.get("ctx", ""))) or (
            kind == "literal_error" and "Kayes" in str(err.get("ctx", {}).get("expected", ""))
        ):
            msg = f"{err.get('input')!r} is not a region of Mali; expected one of: {err['ctx']['expected']}"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and kind not in ("model_type", "dict_type") and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
        lines.append(f"{source}: {where}: {msg}")
    return "\n".join(lines)


def validate_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """The single gate into a :class:`Scenario`; raises :class:`ConfigError` with a clear message."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def apply_overrides(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Set each dotted key path in ``values`` (sweep points, calibration candidates)."""
    out = dict(data)
    for key, value in values.items():
        out = set_path(out, key, value)
    return out


def load_scenario_data(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read a scenario file with its ``extends:`` chain and ``--set`` overrides, unvalidated."""
    data = resolve_extends(Path(path))
    for text in overrides:
        key, value = parse_override(text)
        data = set_path(data, key, value)
    return data


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, merge, override and validate a scenario file."""
    overrides = list(overrides)
    data = load_scenario_data(path, overrides)
    source = str(path) + (" (with --set)" if overrides else "")
    return validate_scenario(data, source=source)


def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain YAML/JSON-ready data (dates as ISO strings)."""
    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return fix(scenario.model_dump(mode="python", by_alias=True))
