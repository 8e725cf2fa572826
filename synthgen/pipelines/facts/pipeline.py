"""mode=facts: fact template → question variations → dedup → answers → validation → ft/text/records."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig

from synthgen.config.schema import FactsModeSettings, Settings
from synthgen.core.errors import BudgetExhausted
from synthgen.core.ids import stable_id
from synthgen.core.jsonl import JsonlOutput, write_jsonl
from synthgen.models.client import ModelClient
from synthgen.models.pricing import StagePlan
from synthgen.models.providers.base import as_provider
from synthgen.pipelines.dedup import find_duplicates
from synthgen.pipelines.facts.answer_checks import check_answer
from synthgen.pipelines.facts.estimate import estimate_facts
from synthgen.pipelines.facts.generation import (
    ANSWER_STAGE,
    QUESTION_STAGE,
    answer,
    answer_prompt,
    question_prompt,
    vary_question,
)
from synthgen.pipelines.facts.merge import merge_fact_shards
from synthgen.pipelines.facts.pairs import Pair, select_pairs
from synthgen.pipelines.facts.probes import (
    PROBE_DEDUP_STAGE,
    PROBE_STAGE,
    Probe,
    probe_duplicates,
    probe_pairs,
    probe_row,
    split_seed_questions,
)
from synthgen.pipelines.facts.rows import dpo_row, ft_row, text_row
from synthgen.pipelines.facts.stats import FactStats
from synthgen.pipelines.facts.validation import STAGE as VALIDATION_STAGE
from synthgen.pipelines.facts.validation import judge, judge_model
from synthgen.pipelines.prompts import load_template, resolve_prompt
from synthgen.run.shards import shard_units
from synthgen.run.stats import RunStats
from synthgen.run.units import UnitFailed, UnitRunner, guarded

log = logging.getLogger(__name__)
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class FactsPlan:
    """The pairs of this shard's items, and of the probes (shard 0 only)."""

    items: list[Pair]
    probes: list[Pair]


@dataclass(frozen=True)
class Draft:
    """A generated question on its way to an answer."""

    id: str
    pair: Pair
    prompt: str
    question: str


class Rejected(Exception):
    """The item failed a check: it goes to rejected.jsonl with `fields` (the answer, its attempts)."""

    def __init__(self, stage: str, reason: str, **fields: Any) -> None:
        super().__init__(reason)
        self.stage, self.reason, self.fields = stage, reason, fields


class FactsPipeline:
    """Generates `limit` items concurrently; the model clients bound the calls in flight."""

    stats_type: ClassVar[type[RunStats]] = FactStats

    def __init__(self, settings: Settings, out_dir: Path, stats: RunStats) -> None:
        assert isinstance(settings.mode, FactsModeSettings) and settings.fact_template is not None
        self.settings = settings
        self.mode = settings.mode
        self.template = settings.fact_template
        assert isinstance(stats, FactStats)
        self.stats = stats
        self.model = as_provider(settings.model)
        self.judge_settings = judge_model(self.model, self.mode.validation)
        self.checks = self.mode.validation
        if not self.judge_settings.llm_judge and (self.checks.judge_questions or self.checks.judge_answers):
            log.warning(
                "judge model '%s' has llm_judge=false: skipping the LLM judge, keeping the deterministic "
                "checks (set mode.validation.model to a stronger model to judge)",
                self.judge_settings.name,
            )
            self.checks = self.checks.model_copy(update={"judge_questions": False, "judge_answers": False})
        self.ft = JsonlOutput(out_dir / "ft.jsonl", fresh=True)
        self.text = JsonlOutput(out_dir / "text.jsonl", fresh=True)
        self.records = JsonlOutput(out_dir / "records.jsonl", fresh=True)
        self.rejected = JsonlOutput(out_dir / "rejected.jsonl", fresh=True)
        self.dpo = JsonlOutput(out_dir / "dpo.jsonl", fresh=True)
        self.probe_path = out_dir / "probe.jsonl"
        self.units = UnitRunner(out_dir, stats, quiet=settings.quiet)

    @staticmethod
    def merge_shards(runs: list[Path], out: Path, stats: dict[str, Any], config: DictConfig) -> None:
        """Join the kept rows of a job's shards, dropping near-duplicates across shards."""
        merge_fact_shards(runs, float(config.mode.near_duplicate_threshold), out, stats)

    def plan(self) -> FactsPlan:
        """The items to generate (seed question × requirement pairs) and the probes (shard 0 writes them);
        prompts and judge model checked first."""
        for prompt in (self.mode.question_prompt, self.mode.answer_prompt, self.mode.validation_prompt):
            load_template(resolve_prompt(prompt))
        limit = self.settings.limit if self.settings.limit is not None else DEFAULT_LIMIT
        split = split_seed_questions(self.template, self.mode)
        pairs = select_pairs(split.training, self.template.question_requirements, limit, self.mode.seed)
        probes = probe_pairs(split, self.template, self.mode) if self.settings.shard.index == 0 else []
        return FactsPlan(shard_units(pairs, self.settings.shard, "items"), probes)

    def estimate(self, plan: FactsPlan) -> list[StagePlan]:
        """The calls `run` would make if nothing were rejected, with estimated tokens and cost."""
        return estimate_facts(
            plan.items, plan.probes, self.mode, self.checks, self.template, self.model, self.judge_settings
        )

    async def run(self, plan: FactsPlan, client: ModelClient) -> None:
        """Questions for every pair with `client`, duplicates dropped, the probes, then answers and validation."""
        self.client = client
        self.judge = client if self.judge_settings == client.settings else client.for_model(self.judge_settings)
        self.stats.requested["items"] = len(plan.items)
        if plan.probes:
            self.stats.requested["probes"] = len(plan.probes)
        outputs = (self.ft, self.text, self.records, self.rejected, *((self.dpo,) if self.mode.dpo else ()))
        for output in outputs:  # every file exists, even empty; a rerun rebuilds them, never appends twice
            output.begin()
        if not self.mode.dpo:
            self.dpo.path.unlink(missing_ok=True)  # left by an earlier attempt with mode.dpo=true
        self.probe_path.unlink(missing_ok=True)
        model = self.settings.model.name
        try:
            drafts = await self.units.each(plan.items, self._draft, desc=f"facts {QUESTION_STAGE} ({model})")
            unique = self._drop_duplicates([draft for draft in drafts if draft is not None])
            if plan.probes:
                await self._write_probes(plan.probes, [draft.question for draft in unique])
            await self.units.each(unique, self._finish, desc=f"facts {ANSWER_STAGE} ({model})")
        finally:
            for output in outputs:
                output.close()
        self.units.finish(
            produced=self.records.count,
            what="items",
            max_cost_usd=client.max_cost_usd,
            empty=f"no item kept of {len(plan.items)}: {self.stats.item_failures} failed (see failures.jsonl), "
            f"{sum(self.stats.rejected.values())} rejected and {self.stats.duplicates_removed} duplicates "
            f"(see {self.rejected.path.name}) (fix: check the model settings and the reasons listed there)",
        )

    async def _draft(self, pair: Pair) -> Draft | None:
        item_id = self._item_id(pair)
        prompt = question_prompt(self.mode, self.template, pair)
        question = await guarded(
            QUESTION_STAGE, vary_question(self.client, prompt, pair.draw), id=item_id, **self._pair_fields(pair)
        )
        self.stats.produced["questions"] += 1
        return Draft(item_id, pair, prompt, question)

    async def _write_probes(self, pairs: list[Pair], training: list[str]) -> None:
        """probe.jsonl: a probe question per pair, less those that near-duplicate a training question or a probe."""
        model = self.settings.model.name
        written = await self.units.each(pairs, self._probe, desc=f"facts {PROBE_STAGE} ({model})")
        rows = [probe_row(probe, self.template) for probe in written if probe is not None]
        duplicates = probe_duplicates(training, [row["question"] for row in rows], self.mode.near_duplicate_threshold)
        for duplicate in duplicates:
            self.stats.probe_duplicates += 1
            self.rejected.write({**rows[duplicate.index], "stage": PROBE_DEDUP_STAGE, "reason": duplicate.reason})
        dropped = {duplicate.index for duplicate in duplicates}
        kept = [row for index, row in enumerate(rows) if index not in dropped]
        write_jsonl(self.probe_path, kept)
        self.stats.produced["probes"] = len(kept)
        if len(kept) < len(pairs):
            log.warning(
                "wrote %d of %d probes to %s: %d near-duplicates (see %s), %d failed (fix: more or other probe "
                "seed questions, or a higher mode.probes)",
                len(kept),
                len(pairs),
                self.probe_path.name,
                len(duplicates),
                self.rejected.path.name,
                self.stats.probe_failures,
            )

    async def _probe(self, pair: Pair) -> Probe:
        probe_id = stable_id(self._item_id(pair), PROBE_STAGE)
        prompt = question_prompt(self.mode, self.template, pair)
        try:
            question = await guarded(
                PROBE_STAGE,
                vary_question(self.client, prompt, pair.draw, stage=PROBE_STAGE),
                id=probe_id,
                **self._pair_fields(pair),
            )
        except BudgetExhausted:
            self.stats.probe_skipped += 1  # the runner counts it skipped; the stats keep probes apart from items
            raise
        return Probe(probe_id, pair, question)

    def _drop_duplicates(self, drafts: list[Draft]) -> list[Draft]:
        duplicates = find_duplicates([draft.question for draft in drafts], self.mode.near_duplicate_threshold)
        for duplicate in duplicates:
            original = drafts[duplicate.of]
            self.stats.duplicates_removed += 1
            self.rejected.write(
                {
                    **self._provenance(drafts[duplicate.index]),
                    "stage": "dedup",
                    "reason": f"duplicate of item {original.id} (similarity {duplicate.similarity}): "
                    f"{original.question}",
                }
            )
        dropped = {duplicate.index for duplicate in duplicates}
        return [draft for index, draft in enumerate(drafts) if index not in dropped]

    async def _finish(self, draft: Draft) -> None:
        try:
            text, validation = await self._answer_and_validate(draft)
        except Rejected as rejection:
            self.stats.rejected[rejection.stage] += 1
            self.rejected.write(
                {**self._provenance(draft), **rejection.fields, "stage": rejection.stage, "reason": rejection.reason}
            )
            return
        except UnitFailed as failure:
            raise UnitFailed(failure.stage, failure.error, **self._provenance(draft)) from failure.error
        self.stats.produced["items"] += 1
        self.ft.write(ft_row(draft.question, text, self.mode.system_prompt))
        self.text.write(text_row(text, self.mode.doc_tag))
        self.records.write(
            {
                **self._provenance(draft),
                "answer": text,
                "judge_model": self.judge.settings.name,
                "validation": validation,
            }
        )
        if self.mode.dpo:
            for dropped in validation["rejected_answers"]:
                self.dpo.write(dpo_row(draft.question, text, dropped["answer"], self.mode.system_prompt))

    async def _answer_and_validate(self, draft: Draft) -> tuple[str, dict[str, Any]]:
        """The answer and every verdict on it; raises Rejected or UnitFailed."""
        checks = self.checks
        draw = draft.pair.draw
        validation: dict[str, Any] = {}
        if checks.judge_questions:
            verdict = await guarded(
                VALIDATION_STAGE,
                judge(
                    self.judge,
                    self.mode.validation_prompt,
                    kind="question",
                    instructions=f"Write a user message about: {draft.pair.seed_question}\n"
                    f"Requirement: {draft.pair.requirement}",
                    output=draft.question,
                    draw=draw,
                ),
            )
            validation["question_judge"] = verdict.model_dump()
            if not verdict.complied:
                raise Rejected("question_validation", verdict.reason)
        prompt = answer_prompt(self.mode, self.template, draft.question)
        text = await self._checked_answer(draft, prompt, validation)
        if checks.judge_answers:
            verdict = await guarded(
                VALIDATION_STAGE,
                judge(
                    self.judge,
                    self.mode.validation_prompt,
                    kind="answer",
                    instructions=prompt,
                    output=text,
                    draw=draw,
                ),
            )
            validation["answer_judge"] = verdict.model_dump()
            if not verdict.complied:
                raise Rejected("answer_validation", verdict.reason, answer=text, **self._attempts(validation))
        return text, validation

    async def _checked_answer(self, draft: Draft, prompt: str, validation: dict[str, Any]) -> str:
        """An answer that passes the deterministic checks, drawn anew (draw + 1, ...) up to answer_attempts times.

        `validation` gets the checks' details of the kept answer, `attempts` (answers drawn) and `rejected_answers`
        (those the checks dropped first); raises Rejected with the last verdict when no attempt passes.
        """
        rejected_answers: list[dict[str, Any]] = []
        validation["rejected_answers"] = rejected_answers
        for attempt in range(self.mode.answer_attempts):
            draw = draft.pair.draw + attempt
            if attempt:
                self.stats.redrawn_answers += 1
            text = await guarded(ANSWER_STAGE, answer(self.client, prompt, draw))
            verdict = check_answer(
                text, draft.pair.requirement, self.template.specific_information_to_always_include, self.checks
            )
            validation["attempts"] = attempt + 1
            if verdict.stage is None:
                validation.update(verdict.details)
                return text
            rejected_answers.append({"draw": draw, "stage": verdict.stage, "reason": verdict.reason, "answer": text})
        last = rejected_answers.pop()
        raise Rejected(last["stage"], last["reason"], answer=last["answer"], **self._attempts(validation))

    @staticmethod
    def _attempts(validation: dict[str, Any]) -> dict[str, Any]:
        """What a rejected row tells of the answers drawn: how many, and those the checks dropped before."""
        return {"attempts": validation["attempts"], "rejected_answers": validation["rejected_answers"]}

    def _item_id(self, pair: Pair) -> str:
        """Stable for the same fact, model and pair draw; distinct across models, so merged rows stay unique."""
        return stable_id(
            self.template.fact_name,
            self.template.given_fact,
            self.template.specific_information_to_always_include,
            self.settings.model.name,
            pair.seed_question,
            pair.requirement,
            str(pair.draw),
        )

    def _pair_fields(self, pair: Pair) -> dict[str, Any]:
        return {
            "fact_name": self.template.fact_name,
            "model": self.settings.model.name,
            "model_id": self.settings.model.model,
            "seed_question": pair.seed_question,
            "requirement": pair.requirement,
            "draw": pair.draw,
        }

    def _provenance(self, draft: Draft) -> dict[str, Any]:
        return {"id": draft.id, **self._pair_fields(draft.pair), "question": draft.question}
