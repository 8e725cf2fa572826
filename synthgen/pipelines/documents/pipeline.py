"""Document-grounded test sets: sources → chunks → units → questions → checks → answers → datasets.jsonl.

Each round asks every unit for its missing questions (the first round for all of them, later rounds are the
top-ups that replace short replies and rejected items), then runs the checks: quotes (no call), duplicates
across the whole run (in plan order, so the outcome does not depend on which call returned first; with an
embedding model, the round's questions are embedded together), answers with their quotes, and the optional
judge. Every stage runs its units through the shared UnitRunner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings, Settings, validate_settings
from synthgen.config.tree import to_plain
from synthgen.core.errors import BudgetExhausted
from synthgen.core.jsonl import JsonlOutput, write_json, write_jsonl
from synthgen.models.client import ModelClient
from synthgen.models.pricing import StagePlan
from synthgen.models.providers.base import as_provider
from synthgen.outputs.changes import RETIRED
from synthgen.pipelines.documents.answers import STAGE as ANSWER_STAGE
from synthgen.pipelines.documents.answers import answer_item, check_answer
from synthgen.pipelines.documents.baseline import UpdatePlan, plan_update
from synthgen.pipelines.documents.baseline.changes import merge_update_shards, write_changes, write_chunks
from synthgen.pipelines.documents.dedup import EMBEDDING_STAGE, RunDuplicates, embedding_provider
from synthgen.pipelines.documents.estimate import estimate_documents
from synthgen.pipelines.documents.evidence import check_question
from synthgen.pipelines.documents.items import Item
from synthgen.pipelines.documents.judge import STAGE as JUDGE_STAGE
from synthgen.pipelines.documents.judge import failed_verdicts, judge_item
from synthgen.pipelines.documents.merge import merge_dataset_shards
from synthgen.pipelines.documents.passages import Passage
from synthgen.pipelines.documents.plan import DocumentMode, DocumentPlan, Unit, check_context, plan_job
from synthgen.pipelines.documents.quality import headline, quality_report
from synthgen.pipelines.documents.question_types import Slot, call_groups
from synthgen.pipelines.documents.questions import STAGE as QUESTION_STAGE
from synthgen.pipelines.documents.questions import Draft, ask_queries, ask_turns
from synthgen.pipelines.documents.records import Dataset, Evidence, context_order
from synthgen.pipelines.documents.roundtrip import STAGE as ROUNDTRIP_STAGE
from synthgen.pipelines.documents.roundtrip import (
    check_roundtrip,
    choose_passages,
    choose_passages_together,
)
from synthgen.pipelines.documents.roundtrip import together as roundtrip_together
from synthgen.pipelines.documents.stats import DocumentStats
from synthgen.pipelines.judges import judge_provider
from synthgen.run.shards import shard_units
from synthgen.run.stats import RunStats
from synthgen.run.units import UnitFailed, UnitRunner, guarded
from synthgen.sources.base import Chunk, as_loader

log = logging.getLogger(__name__)
EVIDENCE = "evidence_check"
DEDUP = "dedup"


@dataclass
class UnitState:
    """A unit's progress: the items kept per slot number, the questions it had rejected, and whether it can go on."""

    unit: Unit
    kept: dict[int, Item] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    asked: set[str] = field(default_factory=set)  # the evidence of every question drafted, so top-ups ask anew
    failed: bool = False  # a question call failed for good: no more top-ups
    unfinished: bool = False  # the budget stopped it: its dataset is not written

    def missing(self) -> list[Slot]:
        """The slots still to fill: for a conversation, the turns after its kept ones."""
        if not self.unit.conversation:
            return [slot for slot in self.unit.slots if slot.number not in self.kept]
        return list(self.unit.slots[len(self.kept) :])

    def items(self) -> list[Item]:
        """The kept items in slot order."""
        return [self.kept[number] for number in sorted(self.kept)]


class DocumentPipeline:
    """Plans units over the whole job, then runs rounds of generation and checks over this shard's units."""

    stats_type: ClassVar[type[RunStats]] = DocumentStats

    def __init__(self, settings: Settings, out_dir: Path, stats: RunStats) -> None:
        assert isinstance(settings.mode, (QueriesModeSettings, ConversationModeSettings))
        assert isinstance(stats, DocumentStats)
        self.settings = settings
        self.mode: DocumentMode = settings.mode
        self.stats = stats
        self.out_dir = out_dir
        self.datasets = JsonlOutput(out_dir / "datasets.jsonl", fresh=True)
        self.rejected = JsonlOutput(out_dir / "rejected.jsonl", fresh=True)
        self.rejected_rows: list[dict[str, Any]] = []
        self.units = UnitRunner(out_dir, stats, quiet=settings.quiet)
        dedup = self.mode.dedup
        self.embedding_model = embedding_provider(dedup.embedding_model) if dedup.embedding_model else None
        self.duplicates = RunDuplicates(dedup.threshold, dedup.embedding_threshold if self.embedding_model else None)
        self.job_chunks: list[Chunk] = []  # every chunk of the whole job's units, for chunks.jsonl
        self.update: UpdatePlan | None = None  # with baseline=: the items kept and retired

    @staticmethod
    def merge_shards(runs: list[Path], out: Path, stats: dict[str, Any], config: DictConfig) -> None:
        """Join the dataset parts and rejections of a job's shards; contexts and quality over the whole job."""
        settings = validate_settings(to_plain(config))
        merge_dataset_shards(runs, out, stats, plan_job(settings))
        merge_update_shards(runs, out, to_plain(config), settings.baseline)

    def estimate(self, plan: DocumentPlan) -> list[StagePlan]:
        """The calls `run` would make, with estimated tokens and cost."""
        return estimate_documents(
            self._to_generate(plan), self.mode, as_provider(self.settings.model), self.embedding_model
        )

    def _to_generate(self, plan: DocumentPlan) -> DocumentPlan:
        """The plan less the slots the baseline's kept items fill (the whole plan without a baseline)."""
        if self.update is None:
            return plan
        units = []
        for unit in plan.units:
            state = self._state(unit)
            missing = tuple(state.missing())
            if missing:
                units.append(dataclasses.replace(unit, slots=missing))
        return dataclasses.replace(plan, units=units)

    def plan(self) -> DocumentPlan:
        """Load, chunk, select and plan the units of the whole job, then keep this shard's: no model call."""
        loader = as_loader(self.settings.loader)
        job = plan_job(self.settings, loader)
        check_context(job.units, self.mode, as_provider(self.settings.model))
        units = job.units
        for skipped in loader.skipped():  # unreadable files of a directory: recorded, the run goes on
            self.units.record(UnitFailed("load", skipped.error, document=skipped.document))
        self.stats.files_skipped = len(loader.skipped())
        self.stats.chunks_without_body = loader.without_body()
        self.job_chunks = list({chunk.id: chunk for unit in units for chunk in unit.chunks}.values())
        if self.settings.baseline is not None:  # decided over the whole job, so every shard decides alike
            self.update = plan_update(self.settings.baseline, self.mode, self.settings.model, units, self.job_chunks)
            units = self.update.units
        what = "conversations" if job.conversations else "(dataset, chunk) units"
        return dataclasses.replace(job, units=shard_units(units, self.settings.shard, what))

    async def run(self, plan: DocumentPlan, client: ModelClient) -> None:
        """Rounds of questions and checks until every slot is filled or the top-ups are spent; then the files."""
        self._count_requested(plan)
        judge = self._judge_client(client)
        embedder = client.for_model(self.embedding_model) if self.embedding_model is not None else None
        states = [self._state(unit) for unit in plan.units]
        for state in states:  # the kept items are earlier questions of the run: new ones must not repeat them
            for item in state.items():
                self.duplicates.add(item)
        try:
            for round_ in range(1 + self.mode.max_top_up_calls):
                todo = [state for state in states if not state.failed and state.missing()]
                if not todo or self.stats.skipped:
                    break
                label = f"{self.mode.kind} ({self.settings.model.name})" + (f", top-up {round_}" if round_ else "")
                drafted = await self.units.each(todo, partial(self._draft, round_=round_, client=client), desc=label)
                batch = await self._dedup([(s, items or []) for s, items in zip(todo, drafted)], round_, embedder)
                if self.mode.roundtrip.enabled and self.mode.evidence.enabled:  # it checks the evidence
                    batch = await self._stage(
                        batch, ROUNDTRIP_STAGE, lambda s, items: self._roundtrip(s, items, client)
                    )
                if self.mode.answers:
                    batch = await self._stage(batch, ANSWER_STAGE, lambda s, items: self._answer(s, items, client))
                if judge is not None:
                    batch = await self._stage(batch, JUDGE_STAGE, lambda s, items: self._judge(s, items, judge))
                for state, items in batch:
                    state.kept.update((item.slot.number, item) for item in items)
        finally:
            self._write(plan, states)
        self.units.finish(
            produced=self.stats.produced["datasets"],
            what="datasets",
            max_cost_usd=client.max_cost_usd,
            empty=self._empty_reason(),
        )

    def _state(self, unit: Unit) -> UnitState:
        """A unit's state, its slots filled by the baseline's kept items (if any)."""
        kept = self.update.kept.get(unit.key, ()) if self.update is not None else ()
        return UnitState(unit, kept={item.slot.number: item for item in kept})

    def _count_requested(self, plan: DocumentPlan) -> None:
        self.stats.requested["datasets"] = len({unit.session_id for unit in plan.units})
        self.stats.requested["queries"] = sum(len(unit.slots) for unit in plan.units)
        if self.mode.answers:
            self.stats.requested["answers"] = self.stats.requested["queries"]
        for unit in plan.units:
            for slot in unit.slots:
                self.stats.requested_by_type[slot.type] += 1

    def _judge_client(self, client: ModelClient) -> ModelClient | None:
        if not self.mode.judge.enabled:
            return None
        provider = judge_provider(
            as_provider(self.settings.model), self.mode.judge.model, self.mode.judge.temperature, "mode.judge.model"
        )
        if not provider.llm_judge:
            log.warning(
                "judge model '%s' has llm_judge=false: skipping the judge, keeping the deterministic checks "
                "(set mode.judge.model to a stronger model to judge)",
                provider.name,
            )
            return None
        return client.for_model(provider)

    # -- questions and their quotes ------------------------------------------------------------------------------

    async def _draft(self, state: UnitState, round_: int, client: ModelClient) -> list[Item]:
        """Ask for the unit's missing slots (one call per group of alike types, or one per conversation); keep the
        items whose quotes check out. A call that fails for good is recorded and stops the unit's top-ups; the
        replies of its other calls are kept."""
        missing = state.missing()
        avoid = frozenset(state.asked)
        if isinstance(self.mode, ConversationModeSettings):
            written = [item.question for item in state.items()]
            calls = [ask_turns(client, state.unit, missing, self.mode, written=written, round_=round_, avoid=avoid)]
        else:
            written = [item.question for item in state.items()] + state.rejected
            calls = [
                ask_queries(client, state.unit, slots, self.mode, written=written, round_=round_, avoid=avoid)
                for slots in call_groups(missing, self.mode.types)
            ]
        fields = self._fields(state.unit)
        replies = await asyncio.gather(
            *(guarded(QUESTION_STAGE, call, **fields) for call in calls), return_exceptions=True
        )
        for reply in replies:
            if isinstance(reply, BudgetExhausted):
                state.unfinished = True
            if isinstance(reply, BaseException) and not isinstance(reply, UnitFailed):
                raise reply  # a UserError stops the run, the budget skips the unit
        failures = [reply for reply in replies if isinstance(reply, UnitFailed)]
        if failures:  # recorded once; the unit keeps what its other calls wrote, and tops up no more
            state.failed = True
            self.units.record(UnitFailed(failures[0].stage, failures[0].error, **fields, round=round_))
        drafts = [draft for reply in replies if isinstance(reply, list) for draft in reply]
        drafts.sort(key=lambda draft: draft.slot.number)
        self.stats.generated += len(drafts)
        state.asked.update(quote.text for draft in drafts for quote in draft.quotes)
        return self._check_evidence(state, drafts, round_)

    def _check_evidence(self, state: UnitState, drafts: list[Draft], round_: int) -> list[Item]:
        passed: list[Item] = []
        broken = False
        for draft in drafts:
            slot = draft.slot
            kind = self.mode.types[slot.type]
            shown = state.unit.chunks if state.unit.conversation else state.unit.chunks[: kind.chunks]
            verdict = check_question(
                draft.question,
                draft.quotes,
                shown,
                self.mode.evidence,
                answerable=kind.answerable,
                hops=kind.chunks,
                unknown=draft.unknown,
                language=self.mode.language,
                pattern=kind.patterns.get(self.mode.language.casefold()),
            )
            item = Item(
                unit=state.unit,
                slot=slot,
                round=round_,
                shown=shown,
                question=draft.question.strip(),
                difficulty=draft.difficulty,
                notes=draft.notes,
                evidence=verdict.evidence,
            )
            reason, detail = verdict.reason, verdict.detail
            if broken:
                reason, detail = "after_rejected_turn", "an earlier turn of the conversation was rejected"
            if reason is not None:
                state.rejected.append(item.question)
                self._reject(item, EVIDENCE, reason, detail)
                broken = state.unit.conversation
                continue
            if self.mode.evidence.enabled:
                item.checks.append(EVIDENCE)
            passed.append(item)
        return passed

    # -- duplicates ------------------------------------------------------------------------------------------------

    async def _dedup(
        self, batch: list[tuple[UnitState, list[Item]]], round_: int, embedder: ModelClient | None
    ) -> list[tuple[UnitState, list[Item]]]:
        """Drop items that repeat an earlier question of the run, in plan order: by their words, then (with an
        embedding model) by their embeddings, the round's questions embedded together."""
        try:
            vectors = await self._embed([item.question for _, items in batch for item in items], round_, embedder)
        except BudgetExhausted:  # the round's units are left unfinished, so a rerun with more budget completes them
            for state, items in batch:
                if items:
                    state.unfinished = True
                    self.stats.skipped += 1
            return [(state, []) for state, _ in batch]
        kept_batch = []
        for state, items in batch:
            kept: list[Item] = []
            broken = False
            for item in items:
                vector = vectors.get(item.question)
                found = None if broken else self.duplicates.repeats(item, vector)
                if broken or found is not None:
                    if found is not None:
                        reason, original = found.reason, found.original
                        measure = "cosine similarity" if reason == "semantic_duplicate" else "similarity"
                        detail = f"repeats {original.qa_id} ({measure} {found.similarity}): {original.question}"
                    else:
                        reason, detail = "after_rejected_turn", "an earlier turn of the conversation was rejected"
                    state.rejected.append(item.question)
                    self._reject(item, DEDUP, reason, detail)
                    broken = state.unit.conversation
                    continue
                self.duplicates.add(item, vector)
                item.checks.append(DEDUP)
                kept.append(item)
            kept_batch.append((state, kept))
        return kept_batch

    async def _embed(self, questions: list[str], round_: int, embedder: ModelClient | None) -> dict[str, list[float]]:
        """Each question's embedding, asked for together (none without an embedding model). A call that fails for
        good is recorded in failures.jsonl and the round's questions are compared by their words only."""
        if embedder is None or not questions:
            return {}
        try:
            vectors = await guarded(EMBEDDING_STAGE, embedder.embed(questions, stage=EMBEDDING_STAGE), round=round_)
        except UnitFailed as failure:
            self.units.record(failure)
            log.warning(
                "embeddings failed in round %d, its questions were compared by their words only: %s", round_, failure
            )
            return {}
        return dict(zip(questions, vectors))

    # -- answers and judge -----------------------------------------------------------------------------------------

    async def _stage(
        self,
        batch: list[tuple[UnitState, list[Item]]],
        stage: str,
        work: Callable[[UnitState, list[Item]], Awaitable[list[Item]]],
    ) -> list[tuple[UnitState, list[Item]]]:
        """Run `work` on every unit that has items; a unit stopped by the budget keeps none."""
        todo = [(state, items) for state, items in batch if items]
        if not todo or self.stats.skipped:
            return [(state, []) for state, _ in batch]
        results = await self.units.each(todo, lambda pair: work(*pair), desc=f"{stage} ({self.mode.kind})")
        return [(state, result or []) for (state, _), result in zip(todo, results)]

    async def _per_item(
        self,
        state: UnitState,
        items: list[Item],
        stage: str,
        check: Callable[[Item, list[dict[str, Any]]], Awaitable[tuple[str, str] | None]],
    ) -> list[Item]:
        """`check` each item (queries concurrently; a conversation's turns in order, each seeing the kept turns
        before it, stopping at the first turn that fails). `check` returns None to keep the item, or the
        (reason, detail) of its rejection; an error is recorded in failures.jsonl and drops the item.
        Answers are rejected by their evidence check, so their rejections count under evidence_check."""
        rejecting = EVIDENCE if stage == ANSWER_STAGE else stage

        async def one(item: Item, history: list[dict[str, Any]]) -> tuple[Item, tuple[str, str] | None, bool]:
            try:
                return (
                    item,
                    await guarded(stage, check(item, history), **self._fields(item.unit), qa_id=item.qa_id),
                    True,
                )
            except UnitFailed as failure:
                self.units.record(failure)
                return item, None, False
            except BudgetExhausted:
                state.unfinished = True
                raise

        if not state.unit.conversation:
            outcomes = await asyncio.gather(*(one(item, []) for item in items))
        else:
            outcomes = []
            for position, item in enumerate(items):
                history = [{"query": t.question, "answer": t.answer} for t in state.items() + items[:position]]
                outcome = await one(item, history)
                outcomes.append(outcome)
                if outcome[1] is not None or not outcome[2]:
                    reason = "after_rejected_turn" if outcome[2] else "after_failed_turn"
                    for later in items[position + 1 :]:
                        self._reject(later, rejecting, reason, "an earlier turn of the conversation did not pass")
                    break
        kept = []
        for item, rejection, completed in outcomes:
            if rejection is not None:
                state.rejected.append(item.question)
                self._reject(item, rejecting, *rejection)
            elif completed:
                kept.append(item)
        return kept

    async def _answer(self, state: UnitState, items: list[Item], client: ModelClient) -> list[Item]:
        async def check(item: Item, history: list[dict[str, Any]]) -> tuple[str, str] | None:
            reply = await answer_item(client, item, self.mode, history)
            verdict = check_answer(item, reply, self.mode)
            item.answer, item.answer_evidence = reply.answer.strip(), verdict.evidence
            if verdict.reason is not None:
                return verdict.reason, verdict.detail
            if self.mode.evidence.enabled:
                item.checks.append("answer_evidence_check")
            return None

        return await self._per_item(state, items, ANSWER_STAGE, check)

    async def _roundtrip(self, state: UnitState, items: list[Item], client: ModelClient) -> list[Item]:
        """The round trip of the unit's items: a call per question (a conversation's turns in order), or, with
        `mode.roundtrip.together`, one per group of queries shown the same excerpts."""

        async def check(item: Item, history: list[dict[str, Any]]) -> tuple[str, str] | None:
            return self._apply_roundtrip(item, await choose_passages(client, item, self.mode, history))

        if state.unit.conversation or not roundtrip_together(client.settings, self.mode):
            return await self._per_item(state, items, ROUNDTRIP_STAGE, check)
        groups: dict[tuple[str, ...], list[Item]] = {}
        for item in items:
            groups.setdefault(tuple(chunk.id for chunk in item.shown), []).append(item)

        async def ask(group: list[Item]) -> list[tuple[list[Passage], list[Passage]] | None]:
            try:
                call = choose_passages_together(client, group, self.mode)
                return await guarded(ROUNDTRIP_STAGE, call, **self._fields(state.unit))
            except UnitFailed as failure:  # recorded; the group's items are dropped, as a failed check drops one
                self.units.record(failure)
                return []
            except BudgetExhausted:
                state.unfinished = True
                raise

        replies = await asyncio.gather(*(ask(group) for group in groups.values()))
        kept = []
        for group, reply in zip(groups.values(), replies):
            for item, choice in zip(group, reply):
                rejection = (
                    ("roundtrip_none", "the reply gave no answer for it") if choice is None
                    else self._apply_roundtrip(item, choice)
                )  # fmt: skip
                if rejection is not None:
                    state.rejected.append(item.question)
                    self._reject(item, ROUNDTRIP_STAGE, *rejection)
                else:
                    kept.append(item)
        return sorted(kept, key=items.index)

    def _apply_roundtrip(self, item: Item, choice: tuple[list[Passage], list[Passage]]) -> tuple[str, str] | None:
        """The round trip's verdict on `item` from the passages chosen and its evidence's: None when it stays
        (its check listed, its evidence moved if so), else its rejection."""
        chosen, evidence = choice
        kind = self.mode.types[item.slot.type]
        later_turn = item.unit.conversation and item.slot.number > 1
        verdict = check_roundtrip(
            item.question,
            chosen,
            evidence,
            answerable=kind.answerable,
            movable=kind.chunks == 1,
            standalone=not later_turn,
        )
        if verdict.reason is not None:
            return verdict.reason, verdict.detail
        if verdict.moved:
            item.evidence = [Evidence(quote=p.text, chunk_id=p.chunk_id, score=1.0) for p in verdict.moved]
        item.checks.append(str(verdict.check))
        return None

    async def _judge(self, state: UnitState, items: list[Item], client: ModelClient) -> list[Item]:
        async def check(item: Item, history: list[dict[str, Any]]) -> tuple[str, str] | None:
            verdict, closed_book = await judge_item(client, item, self.mode, history)
            failed = failed_verdicts(verdict, self.mode.types[item.slot.type].answerable)
            if failed:
                return failed[0], f"{', '.join(failed)}: {verdict.reason}"
            item.closed_book = closed_book
            item.checks.append(JUDGE_STAGE)
            return None

        return await self._per_item(state, items, JUDGE_STAGE, check)

    # -- outputs ---------------------------------------------------------------------------------------------------

    def _reject(self, item: Item, stage: str, reason: str, detail: str) -> None:
        row = item.rejection(stage, reason, detail)
        self.rejected.write(row)
        self.rejected_rows.append(row)
        self.stats.rejected[stage][item.slot.type] += 1

    def _write(self, plan: DocumentPlan, states: list[UnitState]) -> None:
        """datasets.jsonl (sessions in plan order, those the budget left unfinished left out), quality.json."""
        texts = {chunk.id: chunk.text for unit in plan.units for chunk in unit.chunks}
        texts.update((chunk.id, chunk.text) for state in states for item in state.items() for chunk in item.shown)
        sessions: dict[str, list[UnitState]] = {}
        for state in states:
            sessions.setdefault(state.unit.session_id, []).append(state)
        written: list[dict[str, Any]] = []
        for session_id, parts in sessions.items():
            if any(state.unfinished for state in parts):
                continue
            items = [item for state in parts for item in state.items()]
            for state in parts:
                for item in state.items():
                    self.stats.kept_by_type[item.slot.type] += 1
                if state.missing():
                    self.stats.shortfalls.append(self._shortfall(state))
            if not items:
                continue
            conversation = [
                item.batch(
                    turn_number=item.slot.number if item.unit.conversation else None,
                    builds_on=items[i - 1].qa_id if item.unit.conversation and i else None,
                ).model_dump(mode="json")
                for i, item in enumerate(items)
            ]
            dataset = Dataset(
                session_id=session_id,
                assistant_id=self.mode.assistant_id,
                language=self.mode.language,
                context="\n\n".join(texts[chunk] for chunk in context_order(conversation)),
                conversation=[],
            ).model_dump(mode="json")
            dataset["conversation"] = conversation
            self.datasets.write(dataset)
            written.append(dataset)
            self.stats.produced["datasets"] += 1
            self.stats.produced["queries"] += len(items)
            if self.mode.answers:
                self.stats.produced["answers"] += len(items)
        self.datasets.close()
        self.rejected.close()
        for output in (self.datasets, self.rejected):
            output.path.touch()  # written, if empty, so every run directory has both files
        chunks = [(chunk.id, chunk.document) for chunk in plan.chunks()]
        quality = quality_report(written, self.rejected_rows, chunks, self.stats.requested["queries"])
        write_json(self.out_dir / "quality.json", quality)
        self.stats.quality_line = headline(quality)
        write_chunks(self.out_dir, self.job_chunks)
        if self.update is not None:
            retired = self.update.retired if self.settings.shard.index == 0 else ()  # the job's, written once
            write_jsonl(self.out_dir / RETIRED, [item.model_dump(mode="json") for item in retired])
            changes = write_changes(self.out_dir, self.update.baseline)
            log.info(
                "baseline %s: kept %d items, retired %d, %d new",
                self.update.baseline,
                changes.kept,
                changes.retired,
                changes.new,
            )

    def _shortfall(self, state: UnitState) -> dict[str, Any]:
        missing = state.missing()
        return {
            **self._fields(state.unit),
            "requested": len(state.unit.slots),
            "produced": len(state.unit.slots) - len(missing),
            "missing_types": [slot.type for slot in missing],
        }

    def _empty_reason(self) -> str | None:
        if self.stats.produced["datasets"] or not self.rejected_rows:
            return None
        return (
            f"every item was rejected ({len(self.rejected_rows)} in {self.rejected.path}) (fix: read the reasons "
            "there; a stronger model, mode.evidence.threshold or more mode.max_top_up_calls may help)"
        )

    @staticmethod
    def _fields(unit: Unit) -> dict[str, Any]:
        return {"session_id": unit.session_id, "chunk_id": unit.chunk.id, "document": unit.chunk.document}
