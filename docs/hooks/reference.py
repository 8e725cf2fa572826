"""The configuration reference page (`reference.md`), generated at build time so it cannot drift from the code.

An MkDocs hook (`hooks:` in mkdocs.yml). Every option of every config group in `conf/` is composed with Hydra and
its settings class found: the class its `_target_` names (or the one class its field holds, as `fact_template`'s).
Each field of those pydantic classes is listed with its type, its default and its description: the field's own
pydantic `description`, else the entry for its setting in `descriptions.yaml` beside this file. A field without a
description, or a description of no field, is a build warning, which `mkdocs build --strict` makes a failure.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTIONS = Path(__file__).with_name("descriptions.yaml")
PAGE = "reference.md"
_SKIPPED = {"_target_", "kind", "defaults"}  # what names the class, not a setting
_LONG = 60  # characters: a longer value is shown as a pointer to its option file
REQUIRED = "required"


@dataclass(frozen=True)
class Row:
    """One setting: its dotted path, the key of its description, type, default and description."""

    path: str
    key: str
    type: str
    default: str
    description: str | None


@dataclass(frozen=True)
class Option:
    """One option of a group: the settings class it validates as, its composed values and its file's comment."""

    name: str
    cls: type[BaseModel]
    values: dict[str, Any]
    comment: str


@dataclass(frozen=True)
class Group:
    """A config group of `conf/`: its default option(s) and its options; `packaged`: each option under its name."""

    name: str
    default: Any
    packaged: bool
    options: list[Option]


# --- reading conf/ -------------------------------------------------------------------------------------------------


def _defaults_list(conf_dir: Path) -> dict[str, Any]:
    """config.yaml's defaults list as {group: option (or list of options, or None)}."""
    entries = yaml.safe_load((conf_dir / "config.yaml").read_text(encoding="utf-8")).get("defaults", [])
    return {key: value for entry in entries if isinstance(entry, dict) for key, value in entry.items()}


def _comment(path: Path) -> str:
    """The prose of the comment an option file opens with (its own description), up to its first example line."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.removeprefix("#")
        if text == line or text.startswith("  ") or text.strip().startswith(("python ", "defaults:")):
            break  # the comment's end, or an indented example
        if text.strip() and not text.strip().startswith("@package"):
            lines.append(text.strip())
    prose = " ".join(lines)
    if prose.endswith(":"):  # the sentence that introduced the example
        prose = prose[: prose.rfind(". ") + 1] if ". " in prose else ""
    return prose


def _settings_class(annotation: Any) -> type[BaseModel] | None:
    """The one pydantic class of a field that names no class (`fact_template: FactTemplate | None`)."""
    members = [arg for arg in _flat_args(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)]
    return members[0] if len(members) == 1 else None


def _flat_args(annotation: Any) -> list[Any]:
    """The members of a union (with Annotated unwrapped), or the annotation itself."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _flat_args(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(annotation) for member in _flat_args(arg)]
    return [annotation]


def read_groups(conf_dir: Path, settings: type[BaseModel]) -> tuple[list[Group], dict[str, Any], list[str]]:
    """The groups of `conf/` that `settings` has a field for, the composed top-level values, and problems found."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    defaults = _defaults_list(conf_dir)
    groups: list[Group] = []
    problems: list[str] = []
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):

        def composed(overrides: list[str]) -> dict[str, Any]:
            data = OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=False)
            assert isinstance(data, dict)
            return {str(key): value for key, value in data.items()}

        top = composed([])
        for name, field in settings.model_fields.items():
            if not (conf_dir / name).is_dir():
                continue
            packaged = isinstance(defaults.get(name), list)
            options = []
            for path in sorted((conf_dir / name).glob("*.yaml")):
                data = composed([f"{name}=[{path.stem}]" if packaged else f"{name}={path.stem}"])
                values = data[name][path.stem] if packaged else data[name]
                target = values.get("_target_")
                cls = get_class(target) if isinstance(target, str) else _settings_class(field.annotation)
                if cls is None or not issubclass(cls, BaseModel):
                    problems.append(f"reference: {name}={path.stem} has no settings class (add `_target_`)")
                    continue
                options.append(Option(path.stem, cls, values, _comment(path)))
            groups.append(Group(name, defaults.get(name), packaged, options))
    GlobalHydra.instance().clear()
    return groups, top, problems


def other_groups(conf_dir: Path, settings: type[BaseModel]) -> dict[str, list[tuple[str, str]]]:
    """Folders of `conf/` that are no settings field (experiments, shared lists, launchers): their options."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(conf_dir.rglob("*.yaml")):
        group = path.parent.relative_to(conf_dir).as_posix()
        if group != "." and group.split("/")[0] not in settings.model_fields:
            found.setdefault(group, []).append((path.stem, _comment(path)))
    return found


# --- the fields of a class -----------------------------------------------------------------------------------------


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(the pydantic class a field holds, whether it may be null) or (None, _) for a plain value."""
    args = _flat_args(annotation)
    models = [arg for arg in args if isinstance(arg, type) and issubclass(arg, BaseModel)]
    if len(models) == 1 and all(arg is type(None) or arg in models for arg in args):
        return models[0], type(None) in args
    return None, False


def _dict_of_model(annotation: Any) -> type[BaseModel] | None:
    """The value class of a `dict[str, Model]` field."""
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value
    return None


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return REQUIRED if field.default is PydanticUndefined else field.default


def rows(cls: type[BaseModel], prefix: str, key_prefix: str, names: set[str] | None = None) -> Iterator[Row]:
    """The rows of `cls`'s fields (only `names`, if given), nested models flattened into dotted paths."""
    for name, field in cls.model_fields.items():
        if name in _SKIPPED or (names is not None and name not in names):
            continue
        path, key = f"{prefix}.{name}".lstrip("."), f"{key_prefix}.{name}".lstrip(".")
        nested, nullable = _model_of(field.annotation)
        if nested is not None:
            if nullable:
                yield Row(path, key, f"{nested.__name__} or null", _short(_default(field)), field.description)
            yield from rows(nested, path, key)
            continue
        yield Row(path, key, type_name(field.annotation, field.metadata), _short(_default(field)), field.description)
        entry = _dict_of_model(field.annotation)
        if entry is not None:
            yield from rows(entry, f"{path}.NAME", key)


def flat_defaults(cls: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """{dotted path: default} of every field of `cls`, nested models flattened."""
    found: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        nested, nullable = _model_of(field.annotation)
        if nested is not None and not nullable:
            found.update(flat_defaults(nested, f"{prefix}{name}."))
        else:
            found[prefix + name] = _default(field)
    return found


def flat_values(values: dict[str, Any], cls: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """An option's values with the nested models of `cls` flattened into dotted paths."""
    found: dict[str, Any] = {}
    for name, value in values.items():
        field = cls.model_fields.get(name)
        nested = _model_of(field.annotation)[0] if field is not None else None
        if nested is not None and isinstance(value, dict):
            found.update(flat_values(value, nested, f"{prefix}{name}."))
        else:
            found[prefix + name] = value
    return found


# --- rendering -----------------------------------------------------------------------------------------------------

_BOUNDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def _bounds(metadata: list[Any]) -> list[str]:
    found = []
    for item in metadata:
        for attribute, sign in _BOUNDS.items():
            if isinstance(item, annotated_types.BaseMetadata) and hasattr(item, attribute):
                found.append(f"{sign} {getattr(item, attribute)}")
        if isinstance(item, annotated_types.MinLen) and item.min_length:
            found.append("not empty" if item.min_length == 1 else f"at least {item.min_length}")
        if isinstance(item, FieldInfo):
            found += _bounds(item.metadata)
    return found


def type_name(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A readable type: `int ≥ 1`, `use | refresh | off`, `list of str`, `float or null`."""
    name = _type(annotation)
    bounds = _bounds(metadata or [])
    return f"{name}, {', '.join(bounds)}" if bounds else name


def _type(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0], list(args[1:]))
    if origin is typing.Literal:
        return " | ".join(str(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        others = [_type(arg) for arg in args if arg is not type(None)]
        return " or ".join(others) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"map of {_type(args[0])} to {_type(args[1])}"
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _value(value: Any) -> str:
    """A value as YAML's flow style writes it (`null`, `true`, `[a, b]`, `{a: 1}`)."""
    if value == REQUIRED or value == "???":
        return REQUIRED
    text = yaml.safe_dump(to_jsonable_python(value), default_flow_style=True, width=10_000, allow_unicode=True).strip()
    return text.removesuffix("...").strip()


def _short(value: Any) -> str:
    """`_value`, or for a long map its keys only (`{factual: …}`)."""
    text = _value(value)
    if len(text) > _LONG and isinstance(value, dict):
        return "{" + ", ".join(f"{key}: …" for key in value) + "}"
    return text


def _cell(text: str) -> str:
    """Text for a table cell: pipes escaped, and `<...>` outside code spans shown rather than read as HTML."""
    parts = text.replace("|", "\\|").replace("\n", " ").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for i, part in enumerate(parts))


def _code(value: str) -> str:
    return f"`{value}`" if value != REQUIRED else REQUIRED


# --- the page ------------------------------------------------------------------------------------------------------


def _ancestor(a: type[BaseModel], b: type[BaseModel]) -> type[BaseModel] | None:
    """The nearest class both derive from that has settings of its own."""
    for cls in a.__mro__:
        if cls in b.__mro__ and isinstance(cls, type) and issubclass(cls, BaseModel) and cls.model_fields:
            return cls
    return None


def sections(options: list[Option]) -> list[tuple[type[BaseModel], type[BaseModel] | None]]:
    """The classes to document for a group, parents first: each option's class and the nearest class shared by
    two of them, each paired with its nearest documented parent (whose fields it does not repeat)."""
    classes = list(dict.fromkeys(option.cls for option in options))
    shared = [_ancestor(a, b) for a in classes for b in classes if a is not b]
    found = list(dict.fromkeys([*(cls for cls in shared if cls is not None), *classes]))

    def parent(cls: type[BaseModel]) -> type[BaseModel] | None:
        return next((base for base in cls.__mro__[1:] if base in found), None)

    def place(cls: type[BaseModel]) -> tuple[int, ...]:  # each class right after its parent
        up = parent(cls)
        return (*(place(up) if up else ()), found.index(cls))

    return [(cls, parent(cls)) for cls in sorted(found, key=place)]


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _row_lines(found: list[Row], descriptions: dict[str, str]) -> list[str]:
    lines = ["| setting | type | default | description |", "|---|---|---|---|"]
    for row in found:
        text = row.description or descriptions.get(row.key, "")
        lines.append(f"| `{row.path}` | {_cell(row.type)} | {_cell(_code(row.default))} | {_cell(text)} |")
    return lines


def _sets(option: Option) -> str:
    """What an option sets beyond its class's defaults, as `key=value` (long values by name only)."""
    defaults = flat_defaults(option.cls)
    shown = []
    for key, value in flat_values(option.values, option.cls).items():
        if key.split(".")[0] in _SKIPPED or (key == "name" and value == option.name):
            continue
        if key in defaults and (defaults[key] == value or _value(defaults[key]) == _value(value)):
            continue
        text = _value(value)
        shown.append(f"`{key}`" if len(text) > _LONG else f"`{key}={text}`")
    return ", ".join(shown) or "—"


def group_page(group: Group, descriptions: dict[str, str]) -> tuple[list[str], list[Row]]:
    """The markdown of one group and the rows it documents."""
    pick = f"`{group.name}=[NAME,...]`" if group.packaged else f"`{group.name}=NAME`"
    field_path = f"`{group.name}.NAME.FIELD=VALUE`" if group.packaged else f"`{group.name}.FIELD=VALUE`"
    default = _value(group.default) if group.default is not None else "none"
    lines = [
        f"## `{group.name}`",
        "",
        f"Pick with {pick}, change a setting with {field_path}. Default: `{default}` (`conf/config.yaml`).",
        "",
        "| option | class | what it is | sets |",
        "|---|---|---|---|",
    ]
    for option in group.options:
        cells = [f"`{option.name}`", f"`{option.cls.__name__}`", _cell(option.comment) or "—", _cell(_sets(option))]
        lines.append(f"| {' | '.join(cells)} |")
    lines += ["", f"A value too long to show is named only: see the option's file, `conf/{group.name}/NAME.yaml`."]
    documented: list[Row] = []
    for cls, parent in sections(group.options):
        users = [option for option in group.options if issubclass(option.cls, cls)]
        names = set(cls.model_fields) - set(parent.model_fields if parent else ())
        prefix = group.name
        if group.packaged:
            prefix += f".{users[0].name}" if len(users) == 1 else ".NAME"
        found = list(rows(cls, prefix, group.name, names))
        if not found:
            continue
        documented += found
        used_by = ", ".join(f"`{option.name}`" for option in users)
        extends = f"; also every setting of `{parent.__name__}` above" if parent else ""
        lines += ["", f"### {cls.__name__}", "", f"`{_qualified(cls)}`, used by {used_by}{extends}.", ""]
        lines += _row_lines(found, descriptions)
    return lines, documented


def generate(conf_dir: Path | None = None, descriptions: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """The reference page's markdown, and the problems found (fields without a description, stale descriptions)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # document the tree this page is built in, whatever is installed
    from synthgen.config.schema import Settings
    from synthgen.core.paths import CONF_DIR

    conf_dir = conf_dir or CONF_DIR
    if descriptions is None:
        descriptions = yaml.safe_load(DESCRIPTIONS.read_text(encoding="utf-8"))
    groups, top, problems = read_groups(conf_dir, Settings)
    group_names = {group.name for group in groups}
    top_level = [name for name in Settings.model_fields if name not in group_names]
    top_rows = [_with_composed(row, top) for row in rows(Settings, "", "", set(top_level))]
    lines = [
        "# Configuration reference",
        "",
        "Generated from the pydantic settings classes and the option files of `conf/` each time the site is built",
        "(`docs/hooks/reference.py`): every setting of every option, with its type and default. A field's",
        "description lives in the code (`Field(description=...)`) or in `docs/hooks/descriptions.yaml`; a field",
        "without one fails `mkdocs build --strict`. [Configuration](configuration.md) explains how options and",
        "overrides compose.",
        "",
        "## Top level",
        "",
        "Set with `KEY=VALUE` (`cache.mode=refresh`). Defaults as composed from `conf/config.yaml`.",
        "",
        *_row_lines(top_rows, descriptions),
    ]
    documented = list(top_rows)
    for group in groups:
        group_lines, group_rows = group_page(group, descriptions)
        lines += ["", *group_lines]
        documented += group_rows
    others = other_groups(conf_dir, Settings)
    if others:
        lines += ["", "## Other config folders", "", "| folder | option | what it is |", "|---|---|---|"]
        for folder, options in others.items():
            lines += [f"| `{folder}` | `{name}` | {_cell(comment) or '—'} |" for name, comment in options]
    keys = {row.key for row in documented}
    problems += sorted(
        {
            f"reference: setting {row.key} has no description (fix: add `{row.key}: ...` to {DESCRIPTIONS.name} "
            "or a Field(description=...))"
            for row in documented
            if not row.description and row.key not in descriptions
        }
    )
    problems += sorted(
        {
            f"reference: setting {row.key} is described twice (fix: remove it from {DESCRIPTIONS.name})"
            for row in documented
            if row.description and row.key in descriptions
        }
    )
    problems += [
        f"reference: {DESCRIPTIONS.name} describes {key}, which is no setting (fix: remove or rename it)"
        for key in sorted(set(descriptions) - keys)
    ]
    return "\n".join(lines) + "\n", problems


def _with_composed(row: Row, top: dict[str, Any]) -> Row:
    """A top-level row whose default is the value composed from conf/config.yaml, where it sets one."""
    node: Any = top
    for part in row.path.split("."):
        if not isinstance(node, dict) or part not in node:
            return row
        node = node[part]
    if isinstance(node, dict):
        return row
    return Row(row.path, row.key, row.type, _value(node), row.description)


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated reference page to the site; each problem is a warning (`--strict`: an error)."""
    import logging

    from mkdocs.structure.files import File

    page, problems = generate()
    log = logging.getLogger("mkdocs.hooks.reference")
    for problem in problems:
        log.warning(problem)
    files.append(File.generated(config, PAGE, content=page))
    return files
