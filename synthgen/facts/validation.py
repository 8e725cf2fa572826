"""The LLM compliance judge and the model it runs on."""

from __future__ import annotations

from typing import Literal

from omegaconf import OmegaConf
from pydantic import BaseModel, ValidationError

from synthgen.client import ModelClient
from synthgen.config import CONF_DIR
from synthgen.errors import UserError
from synthgen.prompts import render_prompt
from synthgen.settings import FactsValidationSettings, ModelSettings

STAGE = "validation"


class Verdict(BaseModel):
    """The judge's decision on one question or answer (the reason comes first, so the model reasons
    before it decides)."""

    reason: str
    complied: bool


async def judge(
    client: ModelClient, prompt: str, *, kind: Literal["question", "answer"], instructions: str, output: str,
    sample: int,
) -> Verdict:
    """Did `output` comply with `instructions` (no refusal, no pushback on the fact, no acknowledgement)?"""
    text = render_prompt(prompt, kind=kind, instructions=instructions, output=output)
    return await client.structured([{"role": "user", "content": text}], Verdict, stage=STAGE, sample=sample)


def judge_model_settings(generation: ModelSettings, validation: FactsValidationSettings) -> ModelSettings:
    """The judge's model: the generation model or the named `model` group option, at the judge temperature."""
    base = generation if validation.model is None else load_model_option(validation.model)
    if validation.temperature is None:
        return base
    return base.model_copy(update={"temperature": validation.temperature})


def load_model_option(name: str) -> ModelSettings:
    """The settings of `conf/model/<name>.yaml`, validated."""
    options = sorted(path.stem for path in (CONF_DIR / "model").glob("*.yaml"))
    if name not in options:
        raise UserError(
            f"mode.validation.model: unknown model '{name}' (fix: use null or one of: {', '.join(options)})"
        )
    data = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml"), resolve=True)
    try:
        return ModelSettings.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        raise UserError(
            f"conf/model/{name}.yaml: {'.'.join(map(str, problem['loc']))}: {problem['msg']} "
            "(fix: correct that file or choose another mode.validation.model)"
        ) from None
