"""Fine-tuning chats from finished runs, and the exporter base the chat formats (openai, sharegpt, ...) share.

Sources: a facts run's kept items (ft.jsonl, text.jsonl), and a document run's answered questions. In queries
mode each answered question is a one-turn chat; in conversation mode a session is one multi-turn chat of its
turns up to the first turn without a ground-truth answer (later turns build on it). Questions left out are
counted and reported. Every chat of one session (or one facts item) is in the same split file.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.core.errors import UserError
from synthgen.core.jsonl import write_jsonl
from synthgen.outputs.export.base import ExporterOptions
from synthgen.outputs.export.run_files import FactItem, Run, find_runs
from synthgen.outputs.export.split import Split, split_by_group

log = logging.getLogger("synthgen.export")


@dataclass(frozen=True)
class Chat:
    """One fine-tuning example: optional system text and context, then (question, answer) turns."""

    group: str
    system: str | None
    context: str | None
    turns: list[tuple[str, str]]
    text: str

    def system_message(self) -> str | None:
        """The system text with the context appended (the chat formats carry the context there)."""
        parts = [self.system, f"Context:\n{self.context}" if self.context else None]
        return "\n\n".join(part for part in parts if part) or None

    def messages(self) -> list[dict[str, str]]:
        """OpenAI chat messages: the system message if any, then user and assistant turns."""
        system = self.system_message()
        messages = [{"role": "system", "content": system}] if system else []
        for question, answer in self.turns:
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return messages


def collect_chats(runs: list[Run], *, system_prompt: str | None, include_context: bool) -> tuple[list[Chat], int]:
    """Every run's chats in file order, and the number of questions left out for lack of an answer (or, for a
    facts item, for lack of a user/assistant pair in its ft.jsonl row).

    `system_prompt` and `include_context` apply to document runs; facts items keep the system message they
    were generated with.
    """
    chats: list[Chat] = []
    skipped = 0
    for run in runs:
        fact_chats = [_fact_chat(run, item) for item in run.facts]
        chats += [chat for chat in fact_chats if chat.turns]
        skipped += sum(1 for chat in fact_chats if not chat.turns)
        for session in run.sessions:
            group = f"{run.name}/{session.get('session_id')}"
            context = session.get("context") if include_context else None
            answered, left_out = _answered_turns(session["conversation"])
            skipped += left_out
            chats.extend(
                Chat(group, system_prompt, context, turns, "\n\n".join(a for _, a in turns)) for turns in answered
            )
    return chats, skipped


class ChatExporter(ExporterOptions):
    """The fine-tuning formats' common writer and `split` option; a subclass says how a chat becomes a row."""

    split: Split | None = None

    @abstractmethod
    def row(self, chat: Chat) -> dict[str, Any]:
        """The format's JSON row for one chat."""

    def collect(self, runs: list[Run]) -> tuple[list[Chat], int]:
        """The runs' chats and the number of questions left out (see `collect_chats`)."""
        return collect_chats(runs, system_prompt=None, include_context=False)

    def write(self, run_dir: Path, out_dir: Path | None = None) -> list[Path]:
        """train.jsonl (and validation.jsonl with `split`) under `out_dir` (default `<run_dir>/export/<name>/`)."""
        chats, skipped = self.collect(find_runs(run_dir, self.reviewed))
        if skipped:
            log.warning("%s: left out %d questions without a ground-truth answer", self.name, skipped)
        if not chats:
            raise UserError(
                f"{run_dir} has no answered questions to export as {self.name} "
                "(fix: export a facts run, or a document run made with mode.answers=true)"
            )
        directory = self.output_dir(run_dir, out_dir)
        parts = {"train": chats}
        if self.split is not None:
            parts["train"], parts["validation"] = split_by_group(chats, [chat.group for chat in chats], self.split)
        else:
            (directory / "validation.jsonl").unlink(missing_ok=True)  # from an earlier export with a split
        for part, part_chats in parts.items():
            write_jsonl(directory / f"{part}.jsonl", [self.row(chat) for chat in part_chats])
        return [directory / f"{part}.jsonl" for part in parts]


class PromptedChatExporter(ChatExporter):
    """A chat format with a system prompt and, optionally, each document session's context.

    `system_prompt` starts every document chat; `include_context` adds the session's context (the chunk text
    the questions were written from), so the model learns to answer from a given context.
    """

    system_prompt: str | None = None
    include_context: bool = False

    def collect(self, runs: list[Run]) -> tuple[list[Chat], int]:
        """The runs' chats with this exporter's system prompt and context setting."""
        return collect_chats(runs, system_prompt=self.system_prompt, include_context=self.include_context)


def _fact_chat(run: Run, item: FactItem) -> Chat:
    system = next((m["content"] for m in item.messages if m.get("role") == "system"), None)
    turns = _pairs([m for m in item.messages if m.get("role") != "system"])
    return Chat(f"{run.name}/{item.record.get('id')}", system, None, turns, item.text)


def _answered_turns(batches: list[dict[str, Any]]) -> tuple[list[list[tuple[str, str]]], int]:
    """The chats of one session (turn lists) and how many of its questions they leave out."""
    pairs = [(batch.get("query", ""), batch.get("ground_truth_assistant") or "") for batch in batches]
    conversational = any(batch["agentic"]["turn_number"] is not None for batch in batches)
    if not conversational:
        answered = [[pair] for pair in pairs if pair[1]]
        return answered, len(pairs) - len(answered)
    prefix: list[tuple[str, str]] = []
    for pair in pairs:
        if not pair[1]:
            break
        prefix.append(pair)
    return ([prefix] if prefix else []), len(pairs) - len(prefix)


def _pairs(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(user, assistant) pairs of alternating chat messages."""
    users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    assistants = [str(m.get("content", "")) for m in messages if m.get("role") == "assistant"]
    return list(zip(users, assistants))
