"""One validated configuration path: YAML -> ``extends:`` merge -> overrides -> schema.

Scenario files, ``--set key.path=value`` overrides, sweep design points and calibration
candidates all pass through :func:`validate_scenario`; nothing builds a ``Scenario`` another way.

Merging rules (``extends:`` and overrides alike): mappings merge key by key, a ``null`` value
deletes the key it names (so a counterfactual can drop one dated intervention), and any other
value (lists included) replaces what was there.
"""

from __future__ import annotations

import codecs
import copy
import datetime as dt
import difflib
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sahel_sim.config.errors import ConfigError, show
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
    if len(path) > MAX_KEY_PATH_CHARS or path.count(".") >= MAX_DEPTH:
        raise ConfigError(f"--set {show(path)}: key path too long (at most {MAX_KEY_PATH_CHARS} characters "
                          f"and {MAX_DEPTH} parts)")
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
        raise ConfigError(f"--set {show(text)}: expected key.path=value")
    key, raw = text.split("=", 1)
    if len(raw) > MAX_OVERRIDE_CHARS:
        raise ConfigError(f"--set {key.strip()[:80]}: value of {len(raw):,} characters; at most {MAX_OVERRIDE_CHARS:,}")
    value = parse_yaml(raw, source=f"--set {key.strip()[:80]}") if raw.strip() else ""
    return key.strip(), value


# --------------------------------------------------------------------------- reading
MAX_FILE_BYTES = 1_000_000
"""Largest input file (scenario, sweep, sensitivity, calibration, targets, actor map): 1 MB.
The historical scenario is 10 kB and the calibration targets 17 kB."""
MAX_DEPTH = 50
"""Deepest nesting of mappings and lists in a YAML input (and parts of a ``--set`` key path)."""
MAX_NODES = 200_000
"""Most values one YAML document may hold, counting each use of an ``*alias`` in full (this
stops "billion laughs" documents that expand to gigabytes)."""
MAX_KEY_PATH_CHARS = 500
MAX_OVERRIDE_CHARS = 100_000


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader (no tags execute) with limits and stricter reading:

    - a key given twice in one mapping is an error (plain PyYAML keeps the last silently);
    - nesting deeper than :data:`MAX_DEPTH` and more than :data:`MAX_NODES` values after
      alias expansion are errors, with the position;
    - dates stay text (``2023-02-30``): the schema parses them, so a bad date is reported with
      its key path instead of as a bare ``ValueError``.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):  # type: ignore[override]
        node = super().get_single_node()
        if node is not None:
            _count_nodes(node, {})
        return node

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], Any] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    ident = (key_node.tag, key_node.value)
                    if ident in seen:
                        first = seen[ident].start_mark
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {show(key_node.value)} (first given at line {first.line + 1})",
                            key_node.start_mark)
                    seen[ident] = key_node
        return super().construct_mapping(node, deep=deep)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor(_TIMESTAMP, yaml.SafeLoader.construct_yaml_str)


def _count_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values under ``node`` with every alias expanded; raises past :data:`MAX_NODES`."""
    key = id(node)
    if key in memo:
        if memo[key] < 0:
            raise yaml.composer.ComposerError(None, None, "an alias refers to the value that contains it",
                                              node.start_mark)
        size = memo[key]
    else:
        memo[key] = -1
        size = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                size += _count_nodes(child, memo)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                size += _count_nodes(k, memo) + _count_nodes(v, memo)
        memo[key] = size
    if size > MAX_NODES:
        raise yaml.composer.ComposerError(
            None, None, f"more than {MAX_NODES:,} values once its aliases (*name) are expanded", node.start_mark)
    return size


def _where(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def parse_yaml(text: str, *, source: str) -> Any:
    """Parse YAML text with :class:`_Loader`; every failure is one :class:`ConfigError` line."""
    if "\x00" in text:
        raise ConfigError(f"{source}: contains a NUL byte at {_where(text, text.index(chr(0)))}; expected YAML text")
    loader = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        raise ConfigError(f"{source}: character #x{exc.character if isinstance(exc.character, int) else ord(exc.character):04x} "
                          f"at {_where(text, exc.position)} is not allowed in YAML text") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc.__class__.__name__})") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply (at most {MAX_DEPTH} levels)") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an integer of 5,000 digits
        raise ConfigError(f"{source}: a value cannot be read ({show(str(exc), limit=120)})") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text(path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a regular UTF-8 file of at most ``limit`` bytes, or a :class:`ConfigError`
    naming the file and what is wrong (missing, a folder, a device, too big, not UTF-8)."""
    path = Path(path)
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"{path}: is a folder; expected a file")
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{path}: is not a regular file (a device, pipe or socket); expected a file")
        if st.st_size > limit:
            raise ConfigError(f"{path}: file of {st.st_size:,} bytes; input files are at most {limit:,} bytes")
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if len(raw) > limit:
        raise ConfigError(f"{path}: file larger than {limit:,} bytes; input files are at most {limit:,} bytes")
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if raw.startswith(bom):
            raise ConfigError(f"{path}: is {name} text; expected UTF-8 (save it as UTF-8)")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, column {column}); "
                          "expected UTF-8 (save it as UTF-8)") from None


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping (empty file: an empty mapping)."""
    path = Path(path)
    data = parse_yaml(read_text(path), source=str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {show(data)}")
    return data


def resolve_extends(path: Path, *, _depth: int = 0, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and merge it over the file it ``extends:`` (recursively)."""
    path = Path(path)
    try:
        real = path.resolve()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if real in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, real))
        raise ConfigError(f"{path}: extends: circular chain {chain}")
    if _depth > MAX_EXTENDS_DEPTH:
        raise ConfigError(f"{path}: extends: chain deeper than {MAX_EXTENDS_DEPTH}")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip() or len(parent) > 1000:
        raise ConfigError(f"{path}: extends: expected a file name, got {show(parent)}")
    parent_path = (path.parent / parent) if not Path(parent).is_absolute() else Path(parent)
    try:
        base = resolve_extends(parent_path, _depth=_depth + 1, _seen=(*_seen, real))
    except ConfigError as exc:
        if str(exc).startswith(f"{parent_path}: file not found"):
            raise ConfigError(f"{path}: extends: {parent} not found (looked at {parent_path})") from None
        raise ConfigError(f"{path}: extends: {exc}") from None
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




def format_validation_error(exc: ValidationError, source: str, model: type[BaseModel] = Scenario) -> str:
    """The one formatter of schema errors (scenarios, sweep, sensitivity and calibration files):
    one line per problem, ``file: key.path: what was expected``, values shown as written, keys
    missing from one block named together, a close match suggested for an unknown key."""
    lines: list[str] = []
    missing: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = _format_loc(loc) if model is Scenario else _format_loc_plain(loc)
        kind = err["type"]
        if kind == "missing" and loc:
            parent = (_format_loc(loc[:-1]) if model is Scenario else _format_loc_plain(loc[:-1])) if loc[:-1] else ""
            missing.setdefault(parent, []).append(str(loc[-1]))
            continue
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            hint = ""
            if parent is not None:
                keys = [f.alias or k for k, f in parent.model_fields.items()]
                close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(keys)}"
            msg = f"unknown key{hint}"
        elif kind == "union_tag_invalid":
            inp = err.get("input")
            tag = inp.get("type") if isinstance(inp, dict) else inp
            msg = f"unknown intervention type {show(tag)}; expected one of: {', '.join(INTERVENTION_TYPES)}"
        elif kind == "literal_error" and "Kayes" in str(err.get("ctx", {}).get("expected", "")):
            msg = f"{show(err.get('input'))} is not a region of Mali; expected one of: {err['ctx']['expected']}"
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            inp = err.get("input")
            if kind not in ("value_error", "model_type", "dict_type", "assertion_error") and not isinstance(inp, (dict, list)):
                msg += f" (got {show(inp)})"
        lines.append(f"{source}: {where}: {msg}")
    for parent, keys in missing.items():
        at = f"{parent}: " if parent else ""
        noun = "required key is missing" if len(keys) == 1 else "required keys are missing"
        lines.insert(0, f"{source}: {at}{keys[0]}: {noun}" if len(keys) == 1
                     else f"{source}: {at}{noun}: {', '.join(keys)}")
    return "\n".join(lines)


def _format_loc_plain(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in str(part) or " " in str(part):
            out += f"[{str(part)!r}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<top level>"


def validate_model(model: type[BaseModel], data: Any, *, source: str, what: str = "file") -> Any:
    """Validate ``data`` against any schema model; a :class:`ConfigError` with one line per problem."""
    if not data:
        required = [f.alias or k for k, f in model.model_fields.items() if f.is_required()]
        if required:
            raise ConfigError(f"{source}: empty {what}: expected a mapping with {', '.join(required)}")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level, got {show(data)}")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, model)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply (at most {MAX_DEPTH} levels)") from None


def validate_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """The single gate into a :class:`Scenario`; raises :class:`ConfigError` with a clear message."""
    return validate_model(Scenario, data, source=source, what="scenario")


def apply_overrides(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Set each dotted key path in ``values`` (sweep points, calibration candidates)."""
    out = dict(data)
    for key, value in values.items():
        out = set_path(out, key, value)
    return out


def describe_source(path: str | Path, overrides: Iterable[str] = ()) -> str:
    """How messages name a scenario: its file, and the ``--set`` arguments applied to it."""
    overrides = list(overrides)
    return str(path) + (f" (with --set {show(' --set '.join(overrides), limit=120)[1:-1]})" if overrides else "")


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
    source = describe_source(path, overrides)
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
