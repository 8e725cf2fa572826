"""Document-grounded test sets: sources → chunks → samples → questions → answers → datasets.jsonl."""

from __future__ import annotations

import asyncio
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings, Settings
from synthgen.core.errors import BudgetExhausted
from synthgen.core.ids import stable_id
from synthgen.core.jsonl import JsonlOutput, recover_jsonl
from synthgen.models.client import ModelClient
from synthgen.models.pricing import StagePlan
from synthgen.models.providers.base import as_provider
from synthgen.pipelines.documents.answers import answer_questions
from synthgen.pipelines.documents.estimate import estimate_documents
from synthgen.pipelines.documents.merge import merge_dataset_shards
from synthgen.pipelines.documents.questions import generate_questions, wanted_count
from synthgen.pipelines.documents.records import Batch, Dataset
from synthgen.pipelines.documents.strategies import Sample, select_samples, shard_samples
from synthgen.pipelines.prompts import load_template, resolve_prompt
from synthgen.run.stats import RunStats
from synthgen.run.units import UnitFailed, UnitRunner, guarded
from synthgen.sources.base import Chunk, as_loader


class DocumentPipeline:
    """Runs every (sample, chunk) unit concurrently; the model client bounds the calls in flight."""

    stats_type: ClassVar[type[RunStats]] = RunStats

    def __init__(self, settings: Settings, out_dir: Path, stats: RunStats) -> None:
        assert isinstance(settings.mode, (QueriesModeSettings, ConversationModeSettings))
        self.settings = settings
        self.mode: QueriesModeSettings | ConversationModeSettings = settings.mode
        self.stats = stats
        self.datasets = JsonlOutput(out_dir / "datasets.jsonl")
        self.units = UnitRunner(out_dir, stats, quiet=settings.quiet)

    @staticmethod
    def merge_shards(runs: list[Path], out: Path, stats: dict[str, Any], config: DictConfig) -> None:
        """Join the dataset parts of a job's shards."""
        merge_dataset_shards(runs, out, stats)

    def estimate(self, samples: list[Sample]) -> list[StagePlan]:
        """The calls `run` would make, with estimated tokens and cost."""
        return estimate_documents(samples, self.mode, as_provider(self.settings.model))

    def plan(self) -> list[Sample]:
        """Load, chunk and select: everything before the first model call."""
        for prompt in (self.mode.prompt, self.mode.answer_prompt):
            load_template(resolve_prompt(prompt))
        loader = as_loader(self.settings.loader)
        chunks = list(islice(loader.chunks(self.settings.source), self.settings.limit))
        for skipped in loader.skipped():  # unreadable files of a directory: recorded, the run goes on
            self.units.record(UnitFailed("load", skipped.error, document=skipped.document))
        return shard_samples(select_samples(chunks, self.settings.strategy), self.settings.shard)

    async def run(self, samples: list[Sample], client: ModelClient) -> None:
        """Generate every sample with `client`, writing each dataset as soon as its chunks are done.

        Datasets already in the run directory (from an interrupted run of the same config) are kept
        and their samples skipped; the rest replay from the call cache where they got to.
        """
        units = sum(len(s.chunks) for s in samples)
        self.stats.requested["datasets"] = len(samples)
        self.stats.requested["queries"] = units * wanted_count(self.mode)
        if self.mode.answers:
            self.stats.requested["answers"] = self.stats.requested["queries"]
        todo = self._resume(samples)
        try:
            await self.units.each(
                todo,
                lambda sample: self._run_sample(sample, client),
                desc=f"{self.mode.kind} ({self.settings.model.name})",
                total=sum(len(s.chunks) for s in todo),
            )
        finally:
            self.datasets.close()
        self.units.finish(produced=self.stats.produced["datasets"], what="datasets", max_cost_usd=client.max_cost_usd)

    def _resume(self, samples: list[Sample]) -> list[Sample]:
        """Count the datasets a previous attempt finished in this directory; return the samples left."""
        planned = {sample.id for sample in samples}
        done = {r["session_id"]: r for r in recover_jsonl(self.datasets.path) if r["session_id"] in planned}
        for record in done.values():
            self.stats.produced["datasets"] += 1
            self.stats.produced["queries"] += len(record["conversation"])
            if self.mode.answers:
                self.stats.produced["answers"] += len(record["conversation"])
        self.stats.resumed = len(done)
        return [sample for sample in samples if sample.id not in done]

    async def _run_sample(self, sample: Sample, client: ModelClient) -> None:
        """Every chunk of the sample, then its dataset; a chunk that hit the budget leaves the dataset unwritten."""
        per_chunk = await asyncio.gather(
            *(self._run_unit(sample, i, client) for i in range(len(sample.chunks))), return_exceptions=True
        )
        for outcome in per_chunk:
            if isinstance(outcome, BaseException) and not isinstance(outcome, BudgetExhausted):
                raise outcome
        if any(isinstance(outcome, BudgetExhausted) for outcome in per_chunk):
            raise BudgetExhausted(f"dataset {sample.id} left unfinished")
        conversation = [batch for batches in per_chunk for batch in batches]  # type: ignore[union-attr]
        if not conversation:
            return
        dataset = Dataset(
            session_id=sample.id,
            assistant_id=self.mode.assistant_id,
            language=self.mode.language,
            context="\n\n".join(chunk.text for chunk in sample.chunks),
            conversation=conversation,
        )
        self.datasets.write(dataset.model_dump(mode="json"))
        self.stats.produced["datasets"] += 1

    async def _run_unit(self, sample: Sample, i: int, client: ModelClient) -> list[Batch]:
        """Questions (and answers) for chunk `i` of `sample`; a failure is recorded and yields nothing."""
        chunk, draw, position = sample.chunks[i], sample.draws[i], sample.first + i
        fields = {"session_id": sample.id, "chunk_id": chunk.id, "document": chunk.document}
        try:
            questions = await guarded("questions", generate_questions(client, chunk, self.mode, draw=draw), **fields)
        except UnitFailed as failure:
            self.units.record(failure)
            return []
        finally:
            self.units.advance()
        self.stats.produced["queries"] += len(questions)
        if len(questions) < wanted_count(self.mode):
            self.stats.shortfalls.append(
                {
                    "chunk_id": chunk.id,
                    "session_id": sample.id,
                    "requested": wanted_count(self.mode),
                    "produced": len(questions),
                }
            )
        batches = self._batches(sample, position, chunk, questions)
        if not self.mode.answers:
            return batches
        answered = await answer_questions(client, chunk, self.mode, questions, draw=draw)
        kept: list[Batch] = []
        # A conversation stops answering at its first failure, so zip drops the turns after it.
        for batch, item in zip(batches, answered):
            if item.error is not None:
                self.units.record(UnitFailed("answers", item.error, **fields, qa_id=batch.qa_id))
            else:
                kept.append(batch.model_copy(update={"ground_truth_assistant": item.answer}))
        self.stats.produced["answers"] += len(kept)
        return kept

    def _batches(self, sample: Sample, position: int, chunk: Chunk, questions: list[str]) -> list[Batch]:
        batches: list[Batch] = []
        for number, question in enumerate(questions):
            agentic: dict[str, Any] = {
                "chunk_id": chunk.id,
                "document": chunk.document,
                "header_path": chunk.header,
                "chunk_index": chunk.index,
                "pages": list(chunk.pages),
            }
            if isinstance(self.mode, ConversationModeSettings):
                agentic["turn_number"] = number + 1
                agentic["builds_on"] = batches[-1].qa_id if batches else None
            batches.append(
                Batch(
                    qa_id=stable_id(sample.id, str(position), chunk.id, self.mode.kind, str(number)),
                    query=question,
                    agentic=agentic,
                )
            )
        return batches
