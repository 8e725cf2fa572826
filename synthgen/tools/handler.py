"""`run(payload) -> dict`: the Fair-Forge generators Lambda contract, served by the same config tree and runner.

The payload's `config` is mapped onto the Hydra tree: group choices (`model=`, `mode=`, `strategy=`)
are overrides of one `compose`, and the values are merged into the composed config with `${`
escaped, so payload text is always data and can never read `${oc.env:...}`. The job then runs
through `runner.execute_job`, the function behind the CLI. Keys come only from the environment.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen.config.tree import compose_config
from synthgen.core.errors import UserError
from synthgen.core.jsonl import recover_jsonl
from synthgen.core.paths import CONF_DIR
from synthgen.core.secrets import redact as redact_text
from synthgen.run.runner import execute_job

HINTS = {
    "api_key": "API keys come only from the environment of the handler (e.g. OPENAI_API_KEY)",
    "connector": "choose the model with config.model, an option of conf/model",
}
SAMPLING_FIELDS = ("num_samples", "chunks_per_sample", "seed")


class HandlerConfig(BaseModel):
    """`payload["config"]`: the Fair-Forge generator settings plus synthgen extras; all optional."""

    model_config = ConfigDict(extra="forbid")

    model: str = "local"
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


class Payload(BaseModel):
    """The request: markdown `context` to generate from and an optional `config`."""

    model_config = ConfigDict(extra="forbid")

    context: str = ""
    config: HandlerConfig = Field(default_factory=HandlerConfig)


def run(payload: dict[str, Any]) -> dict[str, Any]:
    """Generate evaluation datasets from `payload["context"]`; any mistake is `{"success": False, "error": ...}`.

    `total_batches` counts the conversation turns (Fair-Forge `Batch` records) over all datasets.
    Synchronous (the runner uses `asyncio.run`): inside a running event loop, call it in a thread,
    e.g. `await asyncio.to_thread(run, payload)`.
    """
    try:
        request = parse_payload(payload)
        with tempfile.TemporaryDirectory(prefix="synthgen-handler-") as tmp:
            source = Path(tmp) / "context.md"
            source.write_text(request.context, encoding="utf-8")
            out_dir = Path(tmp) / "run"
            execute_job(compose_job(request.config, source), out_dir)
            datasets = recover_jsonl(out_dir / "datasets.jsonl")
    except UserError as error:
        return redact({"success": False, "error": str(error)})
    return redact(
        {
            "success": True,
            "datasets": datasets,
            "total_datasets": len(datasets),
            "total_batches": sum(len(dataset["conversation"]) for dataset in datasets),
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
    if request.config.strategy != "random" and (
        given := [name for name in SAMPLING_FIELDS if getattr(request.config, name) is not None]
    ):
        raise UserError(f"config.{given[0]} needs config.strategy='random' (fix: add it, or drop {given[0]})")
    return request


def compose_job(config: HandlerConfig, source: Path) -> DictConfig:
    """The job config: one Hydra compose of the group choices, then the payload's values merged in."""
    mode = "conversation" if config.conversation_mode else "queries"
    overrides = [f"model={model_option(config.model)}", f"mode={mode}"]
    if config.strategy is not None:
        overrides.append(f"strategy={config.strategy}")
    cfg = compose_config(overrides, bundled=True)
    merged = OmegaConf.merge(cfg, OmegaConf.create(_literal(_values(config, source))))
    assert isinstance(merged, DictConfig)
    return merged


def model_option(name: str) -> str:
    """The conf/model option `name` names: the option itself, or the option whose litellm model it is."""
    options = {
        path.stem: OmegaConf.to_container(OmegaConf.load(path), resolve=False).get("model")  # type: ignore[union-attr]
        for path in sorted((CONF_DIR / "model").glob("*.yaml"))
    }
    if name in options:
        return name
    if matches := [option for option, model in options.items() if model == name]:
        return matches[0]
    raise UserError(
        f"config.model '{name}' is neither an option of conf/model nor the litellm model of one "
        f"(fix: use one of {', '.join(options)}; for another litellm model keep an option and set "
        f'config.litellm_model, e.g. {{"model": "openai_compatible", "litellm_model": "openai/<served-name>"}})'
    )


def redact(response: dict[str, Any]) -> dict[str, Any]:
    """The response with the value of every secret-looking environment variable replaced by `[redacted]`."""
    return json.loads(redact_text(json.dumps(response, ensure_ascii=False)))


def _reject_unknown(data: dict[str, Any], schema: type[BaseModel], where: str) -> None:
    """Name an unknown key (never its value) and the accepted ones."""
    if unknown := sorted(set(map(str, data)) - set(schema.model_fields)):
        hint = f"; {HINTS[unknown[0]]}" if unknown[0] in HINTS else ""
        raise UserError(
            f"{where}.{unknown[0]} is not accepted{hint} (fix: remove it; accepted: {', '.join(schema.model_fields)})"
        )


def _values(config: HandlerConfig, source: Path) -> dict[str, Any]:
    """The payload's settings at their place in the config tree; unset ones keep the tree's defaults."""
    turns = "num_turns" if config.conversation_mode else "num_queries_per_chunk"
    tree: dict[str, dict[str, Any]] = {
        "model": {"model": config.litellm_model, "api_base": config.api_base, "temperature": config.temperature},
        "loader": {
            "max_chunk_size": config.max_chunk_size,
            "min_chunk_size": config.min_chunk_size,
            "overlap": config.overlap,
        },
        "mode": {
            turns: config.num_queries,
            "language": config.language,
            "assistant_id": config.assistant_id,
            "seed_examples": config.seed_examples,
            "answers": config.answers,
        },
        "strategy": {name: getattr(config, name) for name in SAMPLING_FIELDS},
    }
    values: dict[str, Any] = {"source": str(source), "limit": config.limit, "max_cost_usd": config.max_cost_usd}
    values.update({group: {k: v for k, v in fields.items() if v is not None} for group, fields in tree.items()})
    return {key: value for key, value in values.items() if value not in (None, {})}


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
