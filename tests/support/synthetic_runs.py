"""Synthetic nightly runs for report and history tests (and benchmarks/bench_report.py).

``synthetic_session(folder, run_index=i)`` builds a :class:`~brittle.run.session.BrittleSession`
holding one eval ("sentiment") whose three systems - two prompts and a fine-tuned model - have
"run" on seeded random outcomes: no model, no engine, any size. Ending it with
``tests.support.sessions.finish(session)`` writes the reports (run.json, results.parquet,
summary.md, index.html, summary.json) and records the run in the history, as a real run does.

Model texts include markup on purpose: case ``r00000``'s first typo variant flips for zero-shot
with the output :data:`SCRIPT_PAYLOAD`, and its input holds :data:`IMG_PAYLOAD` (an external
image that a browser would fetch if the report did not escape it).
"""

from __future__ import annotations

import random
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from brittle.run.engine import OUTCOME_COLUMNS, RESULT_COLUMNS, SystemRun
from brittle.run.session import BrittleSession, Options
from brittle.run.verdicts import check_gate
from brittle.spec.cases import Case
from brittle.spec.eval import EvalSpec
from brittle.spec.systems import CallableSystem
from brittle.stats.gates import Gate
from brittle.stats.results import add_intervals, compute_metrics, find_flips

SCRIPT_PAYLOAD = "<script>alert(1)</script>"
IMG_PAYLOAD = '<img src="https://example.invalid/pixel.png">'
FORCED = "[typo-light#1]"
DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
FAMILIES = ("typo", "casing", "whitespace", "punctuation")
SYSTEMS: dict[str, dict[str, Any]] = {
    # kind, accuracy, flip rate per family, prompt tokens per call, price per token, latency
    "zero-shot": {
        "kind": "prompt",
        "accuracy": 0.78,
        "flips": {"typo": 0.20, "casing": 0.08, "whitespace": 0.04, "punctuation": 0.10},
        "tokens": 70,
        "price": 1.5e-7,
        "latency": 0.060,
    },
    "few-shot": {
        "kind": "prompt",
        "accuracy": 0.86,
        "flips": {"typo": 0.12, "casing": 0.05, "whitespace": 0.02, "punctuation": 0.06},
        "tokens": 420,
        "price": 1.5e-7,
        "latency": 0.110,
    },
    "lora": {
        "kind": "model",
        "accuracy": 0.91,
        "flips": {"typo": 0.06, "casing": 0.02, "whitespace": 0.01, "punctuation": 0.03},
        "tokens": 40,
        "price": 3.0e-7,
        "latency": 0.045,
    },
}
GATES = ("accuracy >= 0.7", "flip_rate <= 0.15", "flip_rate[typo] <= 0.15")
WORDS = tuple(
    [
        "the",
        "battery",
        "lasts",
        "all",
        "week",
        "and",
        "charging",
        "is",
        "quick",
        "screen",
        "cracked",
        "after",
        "two",
        "days",
        "of",
        "use",
        "friendly",
        "staff",
        "room",
        "was",
        "spotless",
        "soup",
        "cold",
        "waiter",
        "ignored",
        "us",
        "novel",
        "kept",
        "me",
        "reading",
        "until",
        "three",
        "app",
        "crashes",
        "every",
        "time",
        "I",
        "open",
        "camera",
        "comfortable",
        "shoes",
        "fit",
        "perfectly",
    ]
)


def _perturb(text: str, family: str, rng: random.Random) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    if family == "typo":
        w = words[i]
        if len(w) > 2:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        else:
            words[i] = w + w[-1]
    elif family == "casing":
        words[i] = words[i].upper()
    elif family == "whitespace":
        words[i] = words[i] + " "
    else:
        words[i] = words[i] + rng.choice("!?,;")
    return " ".join(words)


def _case_text(i: int, rng: random.Random) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
    return f"{text} {IMG_PAYLOAD}" if i == 0 else text


def _system_columns(
    name: str,
    params: dict[str, Any],
    cases: list[Case],
    texts: dict[str, list[tuple[str, str, str]]],
    rng: random.Random,
    drift: float,
) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {c: [] for c in RESULT_COLUMNS}
    accuracy = min(0.99, params["accuracy"] + drift)
    for case in cases:
        expected = str(case.expected)
        wrong = "negative" if expected == "positive" else "positive"
        original_pass = rng.random() < accuracy
        if case.id == "r00000":
            original_pass = True
        rows = [(case.id, "", "", str(case.inputs["text"]), original_pass)]
        for variant_id, family, text in texts[case.id]:
            flip = rng.random() < params["flips"][family]
            if (
                case.id == "r00000"
                and name == "zero-shot"
                and variant_id.endswith("[typo-light#1]")
            ):
                flip = True
            rows.append((variant_id, family, f"typos-{family}", text, original_pass != flip))
        for row_id, family, suite, text, passed in rows:
            answer = expected if passed else wrong
            output = f"The review is {answer}."
            if case.id == "r00000" and not passed and name == "zero-shot":
                output = f"{SCRIPT_PAYLOAD} {answer}"
            tokens = params["tokens"] + len(text.split())
            values = {
                "system": name,
                "case_id": case.id,
                "row_id": row_id,
                "suite": suite,
                "family": family,
                "perturbation": f"{family}-light" if family else "",
                "input": text,
                "prompt": f"Review: {text}\nSentiment:",
                "output": output,
                "passed": passed,
                "answer": answer,
                "score": None,
                "checks": "" if passed else f"label: expected {expected}, got {answer}",
                "latency_s": params["latency"] * (0.7 + 0.6 * rng.random()),
                "prompt_tokens": tokens,
                "completion_tokens": 3,
                "cost": (tokens + 3) * params["price"],
                "error": None,
                "repeat": 0,
            }
            for column in RESULT_COLUMNS:
                columns[column].append(values.get(column))
    return columns


def _metrics(columns: dict[str, list[Any]], *, intervals: bool) -> dict[str, Any]:
    present = [c for c in OUTCOME_COLUMNS if c in columns]
    outcome = pd.DataFrame({c: columns[c] for c in present})
    metrics = compute_metrics(outcome)
    if intervals:
        add_intervals(metrics, outcome, resamples=200)
    latencies = sorted(columns["latency_s"])
    overall = metrics["overall"]
    overall["latency_p50_s"] = latencies[len(latencies) // 2]
    overall["latency_p95_s"] = latencies[int(len(latencies) * 0.95)]
    for name in ("prompt_tokens", "completion_tokens", "cost"):
        overall[name] = sum(columns[name])
    return metrics


class _StartTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def start_tags(document: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag of an HTML document with its attributes, in document order."""
    parser = _StartTags()
    parser.feed(document)
    return parser.tags


def has_class(attrs: dict[str, str | None], name: str) -> bool:
    return name in (attrs.get("class") or "").split()


def _never(inputs: Any) -> str:
    raise AssertionError("synthetic systems are never called")


def synthetic_session(
    folder: Path,
    *,
    run_index: int = 0,
    cases: int = 40,
    variants: int = 2,
    history: str | None = None,
    intervals: bool = True,
    seed: int = 0,
) -> BrittleSession:
    """A session with one synthetic eval "run" on ``cases`` x (1 + 4 families x ``variants``)
    rows per system; reports go to ``folder/reports`` when the session finishes."""
    rng = random.Random(f"{seed}-{run_index}")
    text_rng = random.Random(seed)  # the golden set and its variants are the same every night
    golden = []
    texts: dict[str, list[tuple[str, str, str]]] = {}
    for i in range(cases):
        case_id = f"r{i:05d}"
        text = _case_text(i, text_rng)
        expected = "positive" if i % 2 == 0 else "negative"
        golden.append(Case(id=case_id, inputs={"text": text}, expected=expected))
        texts[case_id] = [
            (f"{case_id}[{family}-light#{k}]", family, _perturb(text, family, text_rng))
            for family in FAMILIES
            for k in range(1, variants + 1)
        ]
    spec = EvalSpec(
        name="sentiment",
        source=folder / "sentiment.eval.yaml",
        cases=golden,
        systems=[CallableSystem(n, _never, kind=p["kind"]) for n, p in SYSTEMS.items()],
        checks=[],
        gates=[Gate.parse(g) for g in GATES],
        perturb_fields=("text",),
    )
    session = BrittleSession(Options(report_dir=folder / "reports", history=history))
    session.started = START + run_index * DAY
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(session.started))
    session.run_id = f"{stamp}-{seed % 65536:04x}"  # type: ignore[attr-defined]
    state = session.state(spec)
    state.rows = []
    state.baseline_loaded = True
    state.run.variants_per_family = {f: cases * variants for f in FAMILIES}
    drift = 0.002 * run_index
    for name, params in SYSTEMS.items():
        columns = _system_columns(name, params, golden, texts, rng, drift)
        metrics = _metrics(columns, intervals=intervals)
        present = [c for c in OUTCOME_COLUMNS if c in columns]
        flips = find_flips(pd.DataFrame({c: columns[c] for c in present}))
        system = spec.system(name)
        state.run.systems[name] = SystemRun(
            system=name,
            kind=params["kind"],
            fingerprint=f"{name}-fp",
            spec=system.spec(),
            columns=columns,
            metrics=metrics,
            flips=flips,
            wall_s=1.0,
        )
        for gate in spec.gates:
            check_gate(session, spec, name, gate)
    return session


__all__ = [
    "IMG_PAYLOAD",
    "SCRIPT_PAYLOAD",
    "has_class",
    "start_tags",
    "synthetic_session",
]
