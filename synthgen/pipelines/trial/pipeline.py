"""mode=trial: a generated set → answered turn by turn by the assistant under test (`model`) → scored against each
item's reference (a judge, or deterministic scores) → datasets.jsonl with `assistant` filled, scores.jsonl,
trial.json.

A dataset is a unit: its turns are asked in order in one session, each with the assistant's own earlier answers as
history, so a conversation's calls (and their cache keys) depend only on what came before; datasets run
concurrently under the client's limits. A rerun replays every finished call from the cache.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig

from synthgen.config.schema import Settings
from synthgen.config.trial import TrialModeSettings
from synthgen.core.ids import stable_id
from synthgen.core.jsonl import JsonlOutput, read_jsonl, write_json, write_jsonl
from synthgen.models.client import Completion, ModelClient
from synthgen.models.pricing import StagePlan, priced
from synthgen.models.providers.base import LiteLLMModel, as_provider
from synthgen.pipelines.judges import judge_provider
from synthgen.pipelines.prompts import load_template, render_prompt, resolve_prompt
from synthgen.pipelines.trial.judge import STAGE as JUDGE_STAGE
from synthgen.pipelines.trial.judge import judge_answer
from synthgen.pipelines.trial.scoring import FALSE_PREMISE, deterministic, deterministic_verdict
from synthgen.pipelines.trial.sources import SourceDataset, read_sources
from synthgen.pipelines.trial.stats import TrialStats
from synthgen.pipelines.trial.summary import ScoreRow, trial_summary
from synthgen.run.shards import shard_units
from synthgen.run.stats import RunStats
from synthgen.run.units import UnitFailed, UnitRunner, guarded

ANSWER_STAGE = "answer"
TRIAL_FILE = "trial.json"
SCORES_FILE = "scores.jsonl"
_ANSWER_TOKENS = 300  # the estimate's expected answer length


@dataclass(frozen=True)
class TrialPlan:
    """This shard's datasets to answer."""

    datasets: list[SourceDataset]


class TrialPipeline:
    """Answers every dataset of the source with the assistant under test, then scores every answer."""

    stats_type: ClassVar[type[RunStats]] = TrialStats

    def __init__(self, settings: Settings, out_dir: Path, stats: RunStats) -> None:
        assert isinstance(settings.mode, TrialModeSettings) and isinstance(stats, TrialStats)
        self.settings = settings
        self.mode: TrialModeSettings = settings.mode
        self.stats = stats
        self.out_dir = out_dir
        self.assistant = as_provider(settings.model)
        judge = self.mode.judge
        self.judge_model: LiteLLMModel | None = (
            judge_provider(self.assistant, judge.model, judge.temperature, "mode.judge.model")
            if judge.enabled
            else None
        )
        self.datasets = JsonlOutput(out_dir / "datasets.jsonl", fresh=True)
        self.scores = JsonlOutput(out_dir / SCORES_FILE, fresh=True)
        self.rows: list[ScoreRow] = []
        self.units = UnitRunner(out_dir, stats, quiet=settings.quiet)
        self.phrases = self.mode.refusals()

    @staticmethod
    def merge_shards(runs: list[Path], out: Path, stats: dict[str, Any], config: DictConfig) -> None:
        """Join the shards' answered datasets and scores, and summarise them again."""
        write_jsonl(out / "datasets.jsonl", [row for run in runs for row in read_jsonl(run / "datasets.jsonl")])
        rows = [ScoreRow.model_validate(row) for run in runs for row in read_jsonl(run / SCORES_FILE)]
        write_jsonl(out / SCORES_FILE, [row.model_dump() for row in rows])
        first = next((run / TRIAL_FILE for run in runs if (run / TRIAL_FILE).is_file()), None)
        shard = json.loads(first.read_text(encoding="utf-8")) if first is not None else {}
        extra = {key: shard.get(key) for key in ("assistant", "assistant_model", "context", "judge")}
        level, scoring = shard.get("level", 0.95), shard.get("scoring", "")
        write_json(out / TRIAL_FILE, trial_summary(rows, level=level, scoring=scoring, extra=extra))

    def plan(self) -> TrialPlan:
        """The source's datasets, validated, and this shard's block of them; the prompts checked: no model call."""
        prompts = [self.mode.context_prompt] if self.mode.context == "reference" else []
        for prompt in [*prompts, *([self.mode.judge.prompt] if self.judge_model else [])]:
            load_template(resolve_prompt(prompt))
        return TrialPlan(shard_units(read_sources(self.settings.source), self.settings.shard, "datasets"))

    def estimate(self, plan: TrialPlan) -> list[StagePlan]:
        """One answer call per turn (its history grows turn by turn) and, with a judge, one judge call per turn."""
        answers, judged = StagePlan(ANSWER_STAGE), StagePlan(JUDGE_STAGE)
        for dataset in plan.datasets:
            context = dataset.record["context"] if self.mode.context == "reference" else ""
            history = ""
            for turn in dataset.record["conversation"]:
                asked = context + history + turn["query"]
                answers.add(asked, _ANSWER_TOKENS)
                judged.add(asked + turn.get("ground_truth_assistant", "") + "x" * 4 * _ANSWER_TOKENS, 120)
                history += turn["query"] + "x" * 4 * _ANSWER_TOKENS
        plans = priced([answers], self.assistant)
        if self.judge_model is not None:
            plans += priced([judged], self.judge_model)
        return plans

    async def run(self, plan: TrialPlan, client: ModelClient) -> None:
        """Every dataset answered and scored; then datasets.jsonl, scores.jsonl and trial.json."""
        self.client = client
        self.judge = None if self.judge_model is None else client.for_model(self.judge_model)
        self.stats.requested["datasets"] = len(plan.datasets)
        self.stats.requested["items"] = sum(len(d.record["conversation"]) for d in plan.datasets)
        for output in (self.datasets, self.scores):
            output.begin()
        try:
            await self.units.each(
                plan.datasets,
                self._answer_dataset,
                desc=f"trial ({self.assistant.name})",
                total=self.stats.requested["items"],
            )
        finally:
            for output in (self.datasets, self.scores):
                output.close()
            self._write_summary()
        self.units.finish(produced=len(self.rows), what="items", max_cost_usd=client.max_cost_usd)

    async def _answer_dataset(self, dataset: SourceDataset) -> None:
        """Ask the turns in order in one session, each scored as it is answered; the dataset is written at its end."""
        record = dataset.record
        session = stable_id(record["session_id"], self.assistant.name, self.mode.context, "trial")
        messages: list[dict[str, str]] = []
        if self.mode.context == "reference":
            messages.append(
                {"role": "system", "content": render_prompt(self.mode.context_prompt, context=record["context"])}
            )
        history: list[dict[str, Any]] = []
        answered: list[dict[str, Any]] = []
        rows: list[ScoreRow] = []
        for turn in record["conversation"]:
            messages.append({"role": "user", "content": turn["query"]})
            agentic = turn.get("agentic") or {}
            extra = {**agentic, "session_id": session}
            if self.mode.context == "reference":
                extra["context"] = record["context"]
            started = time.monotonic()
            completion = await guarded(
                ANSWER_STAGE,
                self.client.complete(messages, stage=ANSWER_STAGE, extra_data=extra),
                session_id=record["session_id"],
                qa_id=turn["qa_id"],
                turn=len(answered) + 1,
            )
            latency = None if completion.cached else round(time.monotonic() - started, 4)
            answer = completion.reply.content
            messages.append({"role": "assistant", "content": answer})
            self.stats.produced["answers"] += 1
            self.units.advance()
            rows.append(await self._score(record, turn, answer, history, latency, completion))
            history.append({"query": turn["query"], "answer": answer})
            answered.append({**turn, "assistant": answer, "agentic": {**agentic, "assistant_id": self.assistant.name}})
        self.datasets.write({**record, "assistant_id": self.assistant.name, "conversation": answered})
        self.stats.produced["datasets"] += 1
        for row in rows:
            self.scores.write(row.model_dump())
        self.rows.extend(rows)

    async def _score(
        self,
        record: dict[str, Any],
        turn: dict[str, Any],
        answer: str,
        history: list[dict[str, Any]],
        latency: float | None,
        completion: Completion,
    ) -> ScoreRow:
        """The scores of one answer: the judge's verdict (deterministic ones if the judge fails), F1 and refusal."""
        agentic = turn.get("agentic") or {}
        reference = turn.get("ground_truth_assistant") or ""
        question_type = agentic.get("question_type")
        scores = deterministic(answer, reference, self.phrases)
        verdict, score = deterministic_verdict(scores, question_type, self.mode.f1_threshold)
        reason, refused, scoring = (
            _deterministic_reason(verdict, question_type, scores.f1, scores.refused),
            scores.refused,
            "deterministic",
        )
        if self.judge is not None:
            evidence = [
                quote["quote"]
                for quote in [*agentic.get("evidence", []), *agentic.get("answer_evidence", [])]
                if isinstance(quote, dict) and quote.get("quote")
            ]
            try:
                judged = await guarded(
                    JUDGE_STAGE,
                    judge_answer(
                        self.judge,
                        self.mode.judge.prompt,
                        question=turn["query"],
                        question_type=question_type,
                        reference=reference,
                        evidence=evidence,
                        answer=answer,
                        history=history,
                    ),
                    qa_id=turn["qa_id"],
                )
            except UnitFailed as failure:  # the answer stays, scored without the judge
                self.units.record(failure)
                scoring = "deterministic (the judge failed)"
            else:
                verdict, score, reason, refused, scoring = (
                    judged.verdict,
                    judged.score,
                    judged.reason,
                    judged.refused,
                    "judge",
                )
        if verdict is not None:
            self.stats.scored += 1
        return ScoreRow(
            qa_id=turn["qa_id"],
            session_id=record["session_id"],
            assistant=self.assistant.name,
            context=self.mode.context,
            question_type=question_type,
            difficulty=agentic.get("difficulty"),
            document=agentic.get("document"),
            query=turn["query"],
            answer=answer,
            verdict=verdict,
            score=round(score, 4),
            reason=reason,
            refused=refused,
            f1=scores.f1,
            exact_match=scores.exact_match,
            scoring=scoring,
            latency_seconds=latency,
            cached=completion.cached,
            prompt_tokens=completion.reply.prompt_tokens,
            completion_tokens=completion.reply.completion_tokens,
            cost_usd=round(completion.reply.cost_usd, 8),
        )

    def _write_summary(self) -> None:
        """trial.json from this attempt's rows, and the accuracy line of the final log."""
        if self.judge_model is not None:
            scoring = f"judge: {self.judge_model.name} read every answer next to the reference answer and evidence"
        else:
            scoring = (
                "deterministic, no judge: token F1 against the reference answer (correct from "
                f"{self.mode.f1_threshold}, partial from half of it), exact match, refusal phrases (an out_of_scope "
                "item is correct when refused; false_premise items are not scored)"
            )
        extra = {
            "assistant": self.assistant.name,
            "assistant_model": self.assistant.model,
            "context": self.mode.context,
            "judge": None if self.judge_model is None else self.judge_model.name,
        }
        summary = trial_summary(self.rows, level=self.mode.level, scoring=scoring, extra=extra)
        write_json(self.out_dir / TRIAL_FILE, summary)
        accuracy = summary["accuracy"]
        if accuracy["rate"] is not None:
            self.stats.accuracy_line = (
                f"accuracy {accuracy['rate']:.2f} [{accuracy['low']:.2f}, {accuracy['high']:.2f}] over "
                f"{accuracy['total']} items ({'judge' if self.judge_model else 'deterministic'})"
            )


def _deterministic_reason(verdict: str | None, question_type: str | None, f1: float | None, refused: bool) -> str:
    if verdict is None and question_type == FALSE_PREMISE:
        return "not scored: only a judge can tell an answer that corrects the premise from one that accepts it"
    if verdict is None:
        return "no reference answer to score against (and no judge)"
    return f"token F1 {f1 if f1 is not None else 'n/a'}{', refusal detected' if refused else ''}"
