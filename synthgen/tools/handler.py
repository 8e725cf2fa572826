"""`run(payload) -> dict`: the Fair-Forge generators Lambda contract, served by the same config tree and runner.

The payload's `config` is mapped onto the Hydra tree: group choices (`model=`, `mode=`, `strategy=`)
are overrides of one `compose`, and the values are merged into the composed config with `${`
escaped, so payload text is always data and can never read `${oc.env:...}`. The job then runs
through `runner.execute_job`, the function behind the CLI. `config.api_key` (or `$LLM_API_KEY`) is a key for
that request only: it goes with the provider calls and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from synthgen.config.targets import InvalidConfig
from synthgen.config.tree import compose_config
from synthgen.core.errors import UserError
from synthgen.core.jsonl import recover_jsonl
from synthgen.core.paths import CONF_DIR
from synthgen.core.secrets import hidden
from synthgen.core.secrets import redact as redact_text
from synthgen.models.providers.base import import_litellm
from synthgen.run.job import Job
from synthgen.run.runner import execute_job

DEFAULT_PROVIDER_VARIABLE = "SYNTHGEN_HANDLER_PROVIDER"  # the deployment's provider of bare model names
KEY_VARIABLE = "LLM_API_KEY"  # the request key when the payload brings none, as the Fair-Forge Lambda reads it
MAX_CONTEXT_CHARS = 2_000_000  # a request's context at most (about 1,000 chunks); a larger corpus is a CLI run
MAX_QUESTIONS = 2_000  # questions (or turns) one request may ask for
TIME_BUDGET = 840.0  # seconds of model calls one request may take at most (a Lambda stops at 900)
HINTS = {"connector": "choose the model with config.model: an option of conf/model or a litellm model string"}
SAMPLING_FIELDS = ("num_samples", "chunks_per_sample", "seed")
# Where each payload setting goes in the config tree (`num_queries` is `mode.num_turns` in conversation mode).
PATHS = {
    "litellm_model": "model.model",
    "api_base": "model.api_base",
    "temperature": "model.temperature",
    "max_chunk_size": "loader.max_chunk_size",
    "min_chunk_size": "loader.min_chunk_size",
    "overlap": "loader.overlap",
    "num_queries": "mode.num_queries_per_chunk",
    "language": "mode.language",
    "assistant_id": "mode.assistant_id",
    "seed_examples": "mode.seed_examples",
    "answers": "mode.answers",
    **{name: f"strategy.{name}" for name in SAMPLING_FIELDS},
    "limit": "limit",
    "max_cost_usd": "max_cost_usd",
}


class HandlerConfig(BaseModel):
    """`payload["config"]`: the Fair-Forge generator settings plus synthgen extras; all optional. Strict types:
    `"num_queries": true` is an error, not 1."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = "local"
    api_key: SecretStr | None = None
    litellm_model: str | None = None
    api_base: str | None = None
    temperature: float | None = None
    assistant_id: str | None = None
    num_queries: int | None = None
    language: str | None = None
    conversation_mode: bool = False
    max_chunk_size: int | None = None
    min_chunk_size: int | None = None
    overlap: int | None = None
    seed_examples: list[str] | None = None
    answers: bool | None = None
    strategy: Literal["sequential", "random"] | None = None
    num_samples: int | None = None
    chunks_per_sample: int | None = None
    seed: int | None = None
    limit: int | None = None
    max_cost_usd: float | None = None
    time_budget: float = Field(TIME_BUDGET, gt=0, le=TIME_BUDGET)  # seconds; past it the request fails


class Payload(BaseModel):
    """The request: markdown `context` to generate from and an optional `config`."""

    model_config = ConfigDict(extra="forbid")

    context: str = ""
    config: HandlerConfig = Field(default_factory=HandlerConfig)


def run(payload: dict[str, Any]) -> dict[str, Any]:
    """Generate evaluation datasets from `payload["context"]`; any mistake is `{"success": False, "error": ...}`.

    `total_batches` counts the conversation turns (Fair-Forge `Batch` records) over all datasets; units that
    failed are listed under `failures` (only when some did). The request's key never reaches the response.
    Synchronous (the runner uses `asyncio.run`): inside a running event loop, call it in a thread,
    e.g. `await asyncio.to_thread(run, payload)`.
    """
    try:
        request = parse_payload(payload)
    except UserError as error:
        return redact({"success": False, "error": str(error)})
    key = request.config.api_key.get_secret_value() if request.config.api_key else os.environ.get(KEY_VARIABLE)
    with hidden(key), tempfile.TemporaryDirectory(prefix="synthgen-handler-") as tmp:
        source = Path(tmp) / "context.md"
        source.write_text(request.context, encoding="utf-8")
        out_dir = Path(tmp) / "run"
        failures = out_dir / "failures.jsonl"
        try:
            job = compose_job(request.config, source)
            execute_job(job, out_dir, api_key=key or None, check=within_limits, time_budget=request.config.time_budget)
        except InvalidConfig as error:
            return redact({"success": False, "error": payload_error(error, request.config)})
        except UserError as error:
            message = str(error).replace(f"see {failures}", "listed in `failures`")
            return redact({"success": False, "error": message, **_failures(failures)})
        datasets = recover_jsonl(out_dir / "datasets.jsonl")
        return redact(
            {
                "success": True,
                "datasets": datasets,
                "total_datasets": len(datasets),
                "total_batches": sum(len(dataset["conversation"]) for dataset in datasets),
                **_failures(failures),
            }
        )


def parse_payload(payload: Any) -> Payload:
    """Validate the payload; unknown keys and wrong types raise one UserError naming the fix."""
    if not isinstance(payload, dict):
        raise UserError('the payload must be a JSON object {"context": "<markdown>", "config": {...}}')
    _reject_unknown(payload, Payload, "payload")
    if isinstance(payload.get("config"), dict):
        _reject_unknown(payload["config"], HandlerConfig, "config")
    try:
        request = Payload.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise UserError(f"invalid payload: {problems}") from None
    if not request.context.strip():
        raise UserError("payload.context is missing or empty (fix: send the markdown to generate from as context)")
    if "\0" in request.context:
        raise UserError("payload.context contains NUL characters (fix: send the markdown as text, without \\u0000)")
    if len(request.context) > MAX_CONTEXT_CHARS:
        raise UserError(
            f"payload.context has {len(request.context):,} characters, more than the {MAX_CONTEXT_CHARS:,} one request "
            "takes (fix: send a part of it per request, or run the CLI on the whole corpus)"
        )
    if request.config.strategy != "random" and (
        given := [name for name in SAMPLING_FIELDS if getattr(request.config, name) is not None]
    ):
        raise UserError(f"config.{given[0]} needs config.strategy='random' (fix: add it, or drop {given[0]})")
    return request


def within_limits(job: Job) -> None:
    """Refuse a request that asks for more than MAX_QUESTIONS questions (or turns) in all."""
    requested = sum(len(unit.slots) for unit in job.plan.units)
    if requested > MAX_QUESTIONS:
        raise UserError(
            f"the request asks for {requested:,} questions, more than the {MAX_QUESTIONS:,} one request may "
            "(fix: lower config.num_queries, config.num_samples or config.limit, or send less context)"
        )


def compose_job(config: HandlerConfig, source: Path) -> DictConfig:
    """The job config: one Hydra compose of the group choices, then the payload's values merged in."""
    option, model = model_choice(config.model)
    if model is not None and config.litellm_model is not None:
        raise UserError(
            f"config.litellm_model sets the model of an option, but config.model '{config.model}' is a model "
            "string already (fix: drop config.litellm_model)"
        )
    mode = "conversation" if config.conversation_mode else "queries"
    overrides = [f"model={option}", f"mode={mode}"]
    if config.strategy is not None:
        overrides.append(f"strategy={config.strategy}")
    cfg = compose_config(overrides, bundled=True)
    values = _values(config, source)
    if model is not None:
        values.setdefault("model", {})["model"] = model
    merged = OmegaConf.merge(cfg, OmegaConf.create(_literal(values)))
    assert isinstance(merged, DictConfig)
    return merged


def model_choice(name: str) -> tuple[str, str | None]:
    """The conf/model option for `config.model`, and the litellm model string to set on it (None: the option's).

    `name` is an option, a litellm model string (run on the option that has it, else on `litellm`), or a model
    of the deployment's default provider ($SYNTHGEN_HANDLER_PROVIDER, e.g. groq: `qwen/qwen3-32b` is
    `groq/qwen/qwen3-32b`).
    """
    options = {
        path.stem: OmegaConf.to_container(OmegaConf.load(path), resolve=False).get("model")  # type: ignore[union-attr]
        for path in sorted((CONF_DIR / "model").glob("*.yaml"))
    }
    if name in options:
        return name, None
    model = _litellm_model(name, options)
    matches = [option for option, option_model in options.items() if option_model == model]
    return (matches[0], None) if matches else ("litellm", model)


def payload_error(error: InvalidConfig, config: HandlerConfig) -> str:
    """The validation error with the payload's names (`config.num_queries`) for the settings the payload gave."""
    names = {path: f"config.{name}" for name, path in PATHS.items() if getattr(config, name) is not None}
    if config.conversation_mode:
        names["mode.num_turns"] = "config.num_queries"
    if _litellm_model_of(config) is not None:
        names["model.model"] = "config.model"
    problems = "; ".join(f"{_payload_name(setting, names)}: {message}" for setting, message in error.problems)
    return f"invalid payload: {problems} (fix: correct the value in the payload)"


def _payload_name(setting: str, names: dict[str, str]) -> str:
    """The payload's name of a setting; a whole group (a check across its fields) is the payload's `config`."""
    return names.get(setting) or ("config" if "." not in setting else setting)


def redact(response: dict[str, Any]) -> dict[str, Any]:
    """The response with every secret (environment keys, the request's key) replaced by `[redacted]`."""
    return json.loads(redact_text(json.dumps(response, ensure_ascii=False)))


def _litellm_model(name: str, options: dict[str, Any]) -> str:
    """`name` as a litellm model string: as given when it names a litellm provider, else of the default provider."""
    providers = import_litellm().provider_list
    if "/" in name and name.split("/", 1)[0] in providers:
        return name
    default = os.environ.get(DEFAULT_PROVIDER_VARIABLE)
    if default is None:
        raise UserError(
            f"config.model '{name}' is neither an option of conf/model nor a litellm model string "
            f"(fix: use one of {', '.join(options)}, or '<provider>/{name}'; a deployment can set "
            f"{DEFAULT_PROVIDER_VARIABLE}, e.g. groq, for model names without a provider)"
        )
    if default not in providers:
        raise UserError(
            f"{DEFAULT_PROVIDER_VARIABLE}={default} is not a litellm provider (fix: set it to one, e.g. groq or openai)"
        )
    return f"{default}/{name}"


def _litellm_model_of(config: HandlerConfig) -> str | None:
    """The litellm model string `config.model` sets, None when it names an option."""
    return None if (CONF_DIR / "model" / f"{config.model}.yaml").is_file() else config.model


def _failures(path: Path) -> dict[str, Any]:
    """`{"failures": [...]}` with the run's failed units, or nothing when none failed."""
    rows = recover_jsonl(path)
    return {"failures": rows} if rows else {}


def _reject_unknown(data: dict[str, Any], schema: type[BaseModel], where: str) -> None:
    """Name an unknown key (never its value) and the accepted ones."""
    if unknown := sorted(set(map(str, data)) - set(schema.model_fields)):
        hint = f"; {HINTS[unknown[0]]}" if unknown[0] in HINTS else ""
        raise UserError(
            f"{where}.{unknown[0]} is not accepted{hint} (fix: remove it; accepted: {', '.join(schema.model_fields)})"
        )


def _values(config: HandlerConfig, source: Path) -> dict[str, Any]:
    """The payload's settings at their place in the config tree; unset ones keep the tree's defaults."""
    values: dict[str, Any] = {"source": str(source), "quiet": True}  # a library call prints nothing
    for name, path in PATHS.items():
        value = getattr(config, name)
        if value is None:
            continue
        if name == "num_queries" and config.conversation_mode:
            path = "mode.num_turns"
        *groups, key = path.split(".")
        node = values
        for group in groups:
            node = node.setdefault(group, {})
        node[key] = value
    return values


def _literal(value: Any) -> Any:
    """`value` with every `${` escaped, so OmegaConf keeps payload strings as they are."""
    if isinstance(value, str):
        return re.sub(r"(\\*)\$\{", lambda m: m.group(1) * 2 + "\\${", value)
    if isinstance(value, list):
        return [_literal(item) for item in value]
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    return value


def main() -> None:
    """`python -m synthgen.handler < payload.json`: print the JSON response; exit 1 when it is not a success."""
    try:
        payload = json.load(sys.stdin)
    except json.JSONDecodeError as error:
        response: dict[str, Any] = {"success": False, "error": f"stdin is not JSON: {error} (fix: pipe one payload)"}
    else:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the response
            response = run(payload)
    print(json.dumps(response, ensure_ascii=False))
    sys.exit(0 if response["success"] else 1)


if __name__ == "__main__":
    main()
