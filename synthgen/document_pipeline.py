"""Document-grounded test sets: sources → chunks → samples → questions → answers → datasets.jsonl."""

from __future__ import annotations

import asyncio
from itertools import islice
from pathlib import Path
from typing import Any

from tqdm import tqdm

from synthgen.answers import answer_questions
from synthgen.chunking import Chunk, chunk_documents
from synthgen.client import ModelClient
from synthgen.documents import load_documents
from synthgen.errors import BudgetExceeded, BudgetExhausted, NothingProduced, UserError
from synthgen.estimate import StagePlan, estimate_documents
from synthgen.ids import stable_id
from synthgen.outputs import JsonlOutput, recover_jsonl
from synthgen.prompts import load_template, resolve_prompt
from synthgen.questions import generate_questions, wanted_count
from synthgen.records import Batch, Dataset
from synthgen.secrets import redact
from synthgen.settings import ConversationModeSettings, QueriesModeSettings, Settings
from synthgen.shards import shard_samples
from synthgen.stats import RunStats
from synthgen.strategies import Sample, select_samples


class DocumentPipeline:
    """Runs every (sample, chunk) unit concurrently; the model client bounds the calls in flight."""

    def __init__(self, settings: Settings, out_dir: Path, stats: RunStats) -> None:
        assert isinstance(settings.mode, (QueriesModeSettings, ConversationModeSettings))
        self.settings = settings
        self.mode: QueriesModeSettings | ConversationModeSettings = settings.mode
        self.stats = stats
        self.datasets = JsonlOutput(out_dir / "datasets.jsonl")
        self.failures = JsonlOutput(out_dir / "failures.jsonl", fresh=True)

    def estimate(self, samples: list[Sample]) -> list[StagePlan]:
        """The calls `run` would make, with estimated tokens and cost."""
        return estimate_documents(samples, self.mode, self.settings.model)

    def plan(self) -> list[Sample]:
        """Load, chunk and select: everything before the first model call."""
        for prompt in (self.mode.prompt, self.mode.answer_prompt):
            load_template(resolve_prompt(prompt))
        documents = load_documents(self.settings.source, self.settings.loader.extensions)
        chunks = list(islice(chunk_documents(documents, self.settings.loader), self.settings.limit))
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
        with tqdm(
            total=sum(len(s.chunks) for s in todo), unit="chunk", desc=f"{self.mode.kind} ({self.settings.model.name})"
        ) as progress:
            try:
                async with asyncio.TaskGroup() as group:
                    for sample in todo:
                        group.create_task(self._run_sample(sample, client, progress))
            except* UserError as errors:
                raise errors.exceptions[0] from None
            finally:
                self.datasets.close()
                self.failures.close()
        if self.stats.skipped:
            raise BudgetExceeded.after(client.max_cost_usd, self.stats.cost_usd, self.stats.skipped, "datasets")
        if self.stats.produced["datasets"] == 0 and self.failures.count:
            raise NothingProduced(
                f"every unit failed ({self.failures.count} failures, see {self.failures.path}) "
                "(fix: check the model settings and the errors listed there, then rerun)"
            )

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

    async def _run_sample(self, sample: Sample, client: ModelClient, progress: tqdm) -> None:
        per_chunk = await asyncio.gather(
            *(
                self._run_unit(sample, i, client, progress) for i in range(len(sample.chunks))
            ),
            return_exceptions=True,
        )
        for outcome in per_chunk:
            if isinstance(outcome, BaseException) and not isinstance(outcome, BudgetExhausted):
                raise outcome
        if any(isinstance(outcome, BudgetExhausted) for outcome in per_chunk):
            self.stats.skipped += 1  # left unwritten, so a rerun with more budget completes it
            return
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

    async def _run_unit(self, sample: Sample, i: int, client: ModelClient, progress: tqdm) -> list[Batch]:
        """Questions (and answers) for chunk `i` of `sample`; a failure is recorded and yields nothing."""
        chunk, draw, position = sample.chunks[i], sample.draws[i], sample.first + i
        try:
            questions = await generate_questions(client, chunk, self.mode, sample=draw)
        except (UserError, BudgetExhausted):
            raise
        except Exception as error:  # a failed unit is recorded and the run goes on
            self._record_failure("questions", sample, chunk, error)
            return []
        finally:
            progress.update(1)
        self.stats.produced["queries"] += len(questions)
        if len(questions) < wanted_count(self.mode):
            self.stats.shortfalls.append(
                {"chunk_id": chunk.id, "session_id": sample.id, "requested": wanted_count(self.mode),
                 "produced": len(questions)}
            )
        batches = self._batches(sample, position, chunk, questions)
        if not self.mode.answers:
            return batches
        answered = await answer_questions(client, chunk, self.mode, questions, sample=draw)
        kept: list[Batch] = []
        # A conversation stops answering at its first failure, so zip drops the turns after it.
        for batch, item in zip(batches, answered):
            if item.error is not None:
                self._record_failure("answers", sample, chunk, item.error, qa_id=batch.qa_id)
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

    def _record_failure(
        self, stage: str, sample: Sample, chunk: Chunk, error: Exception, **extra: str
    ) -> None:
        self.stats.failures += 1
        self.stats.stage(stage).failures += 1
        self.failures.write(
            {"stage": stage, "session_id": sample.id, "chunk_id": chunk.id, "document": chunk.document,
             "error_type": type(error).__name__, "error": redact(str(error))[:2000], **extra}
        )
