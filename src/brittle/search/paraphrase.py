"""Model-generated paraphrases, frozen into a JSONL fixture that suites read.

Generating paraphrases during an eval would make every run differ and every CI run call a model;
instead ``brittle paraphrase`` generates them once, through the gateway with any litellm model
(the embedded ``local/smollm2`` by default, offline; a hosted model when you name one), scores
each against its original with the embedding model, and writes one line per paraphrase::

    {"id": "rev-001", "field": "text", "k": 0, "original": "...", "text": "...",
     "model": "local/smollm2", "prompt": "Rewrite ... {text} ...", "similarity": 0.8123}

The file is reviewed in the pull request that adds it, and the ``paraphrase`` family reads it
(``instruction`` with ``file:`` for paraphrases of a template's instruction, made with
``--template``). Poor paraphrases stay in the file, visibly scored; the suite's
``min_similarity`` drops them at run time.

Running the command again is cheap and changes nothing: a line is kept while its case text,
model and prompt are unchanged, so only new or edited cases are generated, and the file is
written in golden-set order, byte for byte the same for the same inputs.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle.gateway import CallRequest, Gateway
from brittle.perturb.template import instruction_of
from brittle.search.embeddings import get_embedder
from brittle.spec.golden import load_golden
from brittle.spec.yamlio import read_jsonl

DEFAULT_MODEL = "local/smollm2"
INSTRUCTION_FIELD = "instruction"

INPUT_PROMPTS = (
    "Rewrite this text using different words and sentence structure, keeping the same meaning "
    "and opinion:\n\n{text}",
    "Rewrite the following text in different words. Keep exactly the same meaning and the same "
    "opinion. Reply with the rewritten text only.\n\nText: {text}\n\nRewritten text:",
    "Paraphrase the text below: change the wording, keep every fact and the same sentiment. "
    "Reply with the paraphrase only.\n\nText: {text}\n\nParaphrase:",
    "Say the same thing as this text in your own words. Reply with your version only.\n\n"
    "Text: {text}\n\nYour version:",
)
"""Prompt ``k`` makes paraphrase ``k`` (greedy); beyond them, prompts repeat with sampling."""

INSTRUCTION_PROMPTS = (
    "Rewrite the following instructions in different words. Keep exactly what they ask for, "
    "including the allowed answers. Reply with the rewritten instructions only.\n\n"
    "Instructions: {text}\n\nRewritten instructions:",
    "Paraphrase these instructions for a reader: same task, same allowed answers, different "
    "wording. Reply with the paraphrase only.\n\nInstructions: {text}\n\nParaphrase:",
)

_LABEL = re.compile(
    r"^\s*(?:rewritten(?: text| instructions)?|paraphrase[ds]?|your version|text|instructions)"
    r"\s*:\s*",
    re.IGNORECASE,
)
_QUOTES = (('"', '"'), ("“", "”"), ("'", "'"))
# 'The text was rewritten to: "..."': a short lead-in, a colon, then the quoted paraphrase
_LEAD_IN = re.compile(r"^[^\"“:\n]{1,80}:\s*[\"“](?P<body>[^\"“”]+)[\"”]?$")


@dataclass(frozen=True)
class Job:
    """One paraphrase to have: of which text, with which prompt and sampling."""

    id: str
    field: str
    k: int
    original: str
    prompt: str
    params: dict[str, Any]

    def matches(self, record: dict[str, Any], model: str) -> bool:
        return (
            record.get("id") == self.id
            and record.get("field") == self.field
            and record.get("k") == self.k
            and record.get("original") == self.original
            and record.get("model") == model
            and record.get("prompt") == self.prompt
            and isinstance(record.get("text"), str)
            and bool(record["text"])
        )


@dataclass
class ParaphraseReport:
    """What one run of the command did."""

    wanted: int = 0
    kept: int = 0
    generated: int = 0
    failed: list[str] = field(default_factory=list)
    removed: int = 0
    low_similarity: int = 0
    written: bool = False


def clean(output: str, *, multiline: bool) -> str:
    """The paraphrase in a model's reply: no label, no wrapping quotes, first paragraph only."""
    text = output.strip()
    text = _LABEL.sub("", text, count=1).strip()
    text = text.split("\n\n", 1)[0].strip()
    if not multiline:
        text = " ".join(text.split())
    lead_in = _LEAD_IN.match(text)
    if lead_in is not None:
        text = lead_in["body"].strip()
    for left, right in _QUOTES:
        if len(text) > 1 and text.startswith(left) and text.endswith(right):
            text = text[1:-1].strip()
    return text


def jobs_for(
    golden: Path | None,
    *,
    n: int,
    fields: Sequence[str] | None = None,
    templates: Sequence[Path] = (),
    temperature: float = 0.8,
) -> list[Job]:
    """Every paraphrase the fixture should hold, in file order."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"--n must be a whole number >= 1, got {n!r}", key="n")
    jobs: list[Job] = []

    def add(case_id: str, name: str, text: str, prompts: Sequence[str]) -> None:
        for k in range(n):
            params: dict[str, Any] = {"temperature": 0}
            if k >= len(prompts):  # more paraphrases than prompts: seeded sampling
                params = {"temperature": temperature, "seed": k}
            jobs.append(Job(case_id, name, k, text, prompts[k % len(prompts)], params))

    if golden is not None:
        cases = load_golden(golden)
        names = (
            list(fields)
            if fields
            else [k for k, v in cases[0].inputs.items() if isinstance(v, str)]
        )
        for case in cases:
            for name in names:
                value = case.inputs.get(name)
                if not isinstance(value, str):
                    raise ConfigError(
                        f"case '{case.id}' has no text field '{name}' to paraphrase",
                        where=case.source,
                        key=name,
                        fix="name the text fields with --field",
                    )
                if value.strip():
                    add(case.id, name, value, INPUT_PROMPTS)
    for template in templates:
        if not template.is_file():
            raise ConfigError(
                "template file does not exist", where=template, fix="check the --template path"
            )
        instruction = instruction_of(template.read_text(encoding="utf-8"))
        if instruction is None:
            raise ConfigError(
                "the template has no instruction paragraph to paraphrase (a paragraph of prose "
                "without {{ }} placeholders)",
                where=template,
            )
        add(template.stem, INSTRUCTION_FIELD, instruction.strip(), INSTRUCTION_PROMPTS)
    return jobs


def read_records(path: Path) -> list[dict[str, Any]]:
    """The lines of an existing fixture (unreadable lines are reported, not guessed at)."""
    if not path.is_file():
        return []
    fix = "fix or delete the line; the command regenerates what is missing"
    return [record for _, record in read_jsonl(path, fix=fix) if isinstance(record, dict)]


async def _generate(
    jobs: Sequence[Job],
    *,
    model: str,
    max_tokens: int,
    gateway: Gateway,
    params: Mapping[str, Any] | None = None,
) -> list[tuple[str | None, str | None]]:
    """``(text, error)`` per job, all in flight at once under the gateway's limit."""

    async def one(job: Job) -> tuple[str | None, str | None]:
        prompt = job.prompt.format(text=job.original)
        request = CallRequest(
            model=model,
            messages=({"role": "user", "content": prompt},),
            params={**(params or {}), **job.params, "max_tokens": max_tokens},
        )
        result = await gateway.complete(request)
        if result.error is not None:
            return None, result.error
        text = clean(result.text or "", multiline=job.field == INSTRUCTION_FIELD)
        return (text, None) if text else (None, "the model's reply was empty")

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def paraphrase_file(
    out: Path,
    golden: Path | None = None,
    *,
    model: str = DEFAULT_MODEL,
    n: int = 2,
    fields: Sequence[str] | None = None,
    templates: Sequence[Path] = (),
    max_tokens: int = 96,
    concurrency: int = 16,
    gateway: Gateway | None = None,
    embedder: Any | None = None,
    params: Mapping[str, Any] | None = None,
) -> ParaphraseReport:
    """Bring the fixture ``out`` up to date: keep valid lines, generate the rest, score, write.

    ``params``: call parameters for every request besides the model (``api_base`` of an
    OpenAI-compatible server, ``api_key``); not recorded in the fixture."""
    if golden is None and not templates:
        raise ConfigError(
            "nothing to paraphrase: give a golden file, or --template for instructions",
            key="golden",
        )
    jobs = jobs_for(golden, n=n, fields=fields, templates=templates)
    existing = read_records(out)
    report = ParaphraseReport(wanted=len(jobs))
    records: list[dict[str, Any] | None] = []
    todo: list[int] = []
    for index, job in enumerate(jobs):
        found = next((r for r in existing if job.matches(r, model)), None)
        records.append(found)
        if found is None:
            todo.append(index)
    report.kept = len(jobs) - len(todo)
    report.removed = len(existing) - report.kept
    if todo:
        if gateway is None:
            gateway = Gateway.for_spec(concurrency=concurrency)
        generated = asyncio.run(
            _generate(
                [jobs[i] for i in todo],
                model=model,
                max_tokens=max_tokens,
                gateway=gateway,
                params=params,
            )
        )
        fresh: list[tuple[int, str]] = []
        for index, (text, error) in zip(todo, generated, strict=True):
            if text is None:
                job = jobs[index]
                report.failed.append(f"{job.id} ({job.field} #{job.k}): {error}")
            else:
                fresh.append((index, text))
        similarities = _similarities([(jobs[i].original, t) for i, t in fresh], embedder)
        for (index, text), score in zip(fresh, similarities, strict=True):
            job = jobs[index]
            records[index] = {
                "id": job.id,
                "field": job.field,
                "k": job.k,
                "original": job.original,
                "text": text,
                "model": model,
                "prompt": job.prompt,
                "similarity": score,
            }
        report.generated = len(fresh)
    written = [r for r in records if r is not None]
    report.low_similarity = sum(1 for r in written if (r.get("similarity") or 0) < 0.7)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in written)
    if not out.is_file() or out.read_text(encoding="utf-8") != body:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
        report.written = True
    return report


def _similarities(pairs: Sequence[tuple[str, str]], embedder: Any | None) -> list[float]:
    if not pairs:
        return []
    if embedder is None:
        embedder = get_embedder()
    scores = embedder.cosine([a for a, _ in pairs], [b for _, b in pairs])
    return [round(float(score), 4) for score in scores]
