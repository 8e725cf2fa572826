"""The one extension contract: an option of a pluggable group (model, loader, strategy, mode, export) names its
class with `_target_`; that class is a pydantic model whose fields are the option's settings and whose methods
are its behaviour. `build_target` imports, checks and validates it; `require_class` narrows a built one."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ValidationError

from synthgen.core.errors import UserError
from synthgen.core.paths import CONF_DIR

Target = TypeVar("Target", bound=BaseModel)


class InvalidConfig(UserError):
    """Settings that fail validation: `problems` pairs each setting's dotted path with what is wrong with it."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        listed = "; ".join(f"{setting}: {message}" for setting, message in problems)
        super().__init__(f"invalid config: {listed} (fix: correct it on the command line or in conf/)")


def problems_of(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """(setting, message) per problem, the setting as a dotted path (`prefix`: the group of a `_target_` option)."""
    found = []
    for item in error.errors():
        loc = [prefix] if prefix else []
        loc += [str(p) for p in item["loc"] if not isinstance(p, int)]
        found.append((".".join(loc) or "config", item["msg"].removeprefix("Value error, ")))
    return found


def build_target(group: str, data: Any, base: type[Target]) -> Target:
    """The option of `group` (a dict or an OmegaConf node) validated as the class its `_target_` names, which must
    subclass `base`.

    Not `hydra.utils.instantiate`: it cannot check the base before building, wraps pydantic's errors (losing
    which setting is wrong) and reads `_args_`, `_partial_` and nested `_target_` keys as its own.
    """
    if isinstance(data, DictConfig):
        data = OmegaConf.to_container(data, resolve=True)
    target = data.get("_target_") if isinstance(data, dict) else None
    if not isinstance(target, str):
        target = _bundled_target(group, data)
    try:
        cls = get_class(target)
    except Exception as error:  # Hydra wraps ImportError and AttributeError alike
        cause = error.__cause__ or error
        raise UserError(
            f"{group}._target_: cannot import {target} ({type(cause).__name__}: {str(cause).splitlines()[0]}) "
            "(fix: correct the path, or install the package that defines it)"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise UserError(
            f"{group}._target_: {target} is not a {base.__module__}.{base.__name__} "
            f"(fix: subclass {base.__name__} in {target.rsplit('.', 1)[0]})"
        )
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        raise UserError(f"{group}._target_: {target} leaves {missing} undefined (fix: define it in {cls.__name__})")
    try:
        return cls.model_validate({key: value for key, value in data.items() if key != "_target_"})
    except ValidationError as error:
        raise InvalidConfig(problems_of(error, group)) from None


def _bundled_target(group: str, data: Any) -> str:
    """The `_target_` of the bundled option an option without one names by its `kind` (a config, or a run
    directory's saved one, from before modes and strategies named their class)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    bundled = CONF_DIR / group / f"{kind}.yaml"
    if isinstance(kind, str) and bundled.is_file():
        target = OmegaConf.select(OmegaConf.load(bundled), "_target_")
        if isinstance(target, str):
            return target
    raise UserError(
        f"{group}: the option has no `_target_` naming its class (fix: add `_target_: package.module.Class`, "
        f"e.g. `defaults: [<a bundled {group} option>, _self_]`)"
    )


def require_class(settings: BaseModel, cls: type[Target], group: str) -> Target:
    """`settings` (a validated `_target_` option of `group`) as an instance of `cls`, or a UserError naming it."""
    if not isinstance(settings, cls):
        raise UserError(
            f"{group}: {type(settings).__module__}.{type(settings).__name__} is not a {cls.__module__}.{cls.__name__} "
            f"(fix: point {group}._target_ at a subclass of {cls.__name__})"
        )
    return settings
