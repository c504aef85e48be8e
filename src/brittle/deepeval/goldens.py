"""Golden sets both ways: deepeval goldens and datasets to brittle cases, and back.

A brittle :class:`~brittle.spec.cases.Case` has an id, input fields, an expected answer and tags; a
deepeval ``Golden`` has one ``input`` text, an ``expected_output`` text, a ``name`` and free
``additional_metadata``. The mapping:

=====================  =========================================================================
brittle                deepeval
=====================  =========================================================================
``id``                 ``name`` (and ``additional_metadata["brittle"]["id"]``)
input fields           ``input``: the one input field (or ``input_field``), else all as JSON;
                       all fields kept in ``additional_metadata["brittle"]["inputs"]``
``expected``           ``expected_output`` (text; non-text values as JSON, the value itself
                       kept in ``additional_metadata["brittle"]["expected"]``)
``tags``               ``additional_metadata["brittle"]["tags"]``
=====================  =========================================================================

So brittle -> deepeval -> brittle keeps ids, inputs, expected answers and tags exactly. Goldens
written with deepeval alone map the other way: the id is the golden's ``name`` (else
``golden-N``), the input is the field ``input_field`` (default ``input``), ``context`` and
``retrieval_context`` become fields of those names, tags come from
``additional_metadata["tags"]`` when present.

Files use deepeval's own formats (a JSON list or JSONL, snake_case keys), so
``EvaluationDataset().add_goldens_from_json_file(path)`` reads what :func:`export_goldens`
writes and :func:`import_goldens` reads deepeval's ``.json``, ``.jsonl`` and ``.csv`` files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from brittle.deepeval._require import missing_deepeval

try:  # the optional extra brittle[deepeval]: absent, say how to install it
    from deepeval.dataset import EvaluationDataset, Golden
except ImportError as _exc:
    raise missing_deepeval(_exc, "brittle.deepeval (golden sets)") from None

from brittle._errors import ConfigError
from brittle.spec.cases import Case
from brittle.spec.golden import _to_case, load_golden

__all__ = [
    "dataset_from_cases",
    "export_goldens",
    "golden_from_case",
    "goldens_from_dataset",
    "import_goldens",
]

META_KEY = "brittle"
"""The ``additional_metadata`` key under which a golden keeps what deepeval has no field for."""


def golden_from_case(case: Case, *, input_field: str | None = None) -> Golden:
    """One brittle case as a deepeval golden (see the module docstring for the mapping)."""
    inputs = dict(case.inputs)
    if input_field is not None:
        if input_field not in inputs:
            raise ConfigError(
                f"case '{case.id}' has no input field '{input_field}'",
                where=case.source,
                key="input_field",
                fix=f"its fields are: {', '.join(sorted(inputs)) or '(none)'}",
            )
        text = inputs[input_field]
    elif len(inputs) == 1:
        text = next(iter(inputs.values()))
    else:
        text = json.dumps(inputs, ensure_ascii=False, default=str)
    expected = case.expected
    meta: dict[str, Any] = {"id": case.id, "inputs": inputs, "tags": list(case.tags)}
    if expected is None or isinstance(expected, str):
        expected_output = expected
    else:
        expected_output = json.dumps(expected, ensure_ascii=False, default=str)
        meta["expected"] = expected
    return Golden(
        input=str(text),
        expected_output=expected_output,
        name=case.id,
        additional_metadata={META_KEY: meta},
        multimodal=False,
    )


def dataset_from_cases(
    cases: Iterable[Case] | str | Path, *, input_field: str | None = None
) -> EvaluationDataset:
    """A deepeval ``EvaluationDataset`` of the cases (or of a brittle golden file's rows)."""
    if isinstance(cases, str | Path):
        cases = load_golden(Path(cases))
    return EvaluationDataset(goldens=[golden_from_case(c, input_field=input_field) for c in cases])


def goldens_from_dataset(
    dataset: EvaluationDataset | Iterable[Golden],
    *,
    input_field: str = "input",
    source: str = "<deepeval dataset>",
) -> list[Case]:
    """brittle cases from a deepeval dataset or a list of goldens.

    Ids must be unique and free of ``[``, ``]`` and ``#`` (they key baselines and variant ids);
    a problem raises :class:`~brittle._errors.ConfigError` naming the golden's position.
    """
    goldens = dataset.goldens if isinstance(dataset, EvaluationDataset) else list(dataset)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, golden in enumerate(goldens, start=1):
        if not isinstance(golden, Golden):
            raise ConfigError(
                f"item {number} is a {type(golden).__name__}, not a single-turn Golden",
                where=source,
                fix="brittle golden sets are single-turn: use deepeval Golden objects",
            )
        case = _to_case(_row(golden, number, input_field), Path(source), number)
        case = Case(case.id, case.inputs, case.expected, case.tags, f"{source} golden #{number}")
        if case.id in seen:
            raise ConfigError(
                f"duplicate case id '{case.id}' (first at golden #{seen[case.id]})",
                where=f"{source} golden #{number}",
                key="name",
                fix="give every golden a unique name: brittle keys baselines by it",
            )
        seen[case.id] = number
        cases.append(case)
    return cases


def _row(golden: Golden, number: int, input_field: str) -> dict[str, Any]:
    """The golden as a brittle golden-file row (``id``, ``inputs``, ``expected``, ``tags``)."""
    extra = golden.additional_metadata if isinstance(golden.additional_metadata, Mapping) else {}
    meta = extra.get(META_KEY) if isinstance(extra.get(META_KEY), Mapping) else None
    if meta is not None:
        inputs = dict(meta.get("inputs") or {input_field: golden.input})
        expected = meta.get("expected", golden.expected_output)
        tags = meta.get("tags") or []
        case_id = meta.get("id") or golden.name
    else:
        inputs = {input_field: golden.input}
        for key in ("context", "retrieval_context"):
            value = getattr(golden, key, None)
            if value:
                inputs[key] = [str(item) for item in value]
        expected = golden.expected_output
        tags = extra.get("tags") or []
        case_id = golden.name
    return {
        "id": case_id or f"golden-{number}",
        "inputs": inputs,
        "expected": expected,
        "tags": list(tags) if isinstance(tags, list | tuple) else tags,
    }


def export_goldens(
    cases: Iterable[Case] | str | Path,
    path: str | Path,
    *,
    input_field: str | None = None,
) -> Path:
    """Write cases (or a brittle golden file's rows) as deepeval goldens; returns the path.

    ``.jsonl`` writes one golden per line, anything else a JSON list: both what deepeval's
    ``add_goldens_from_json_file`` / ``add_goldens_from_jsonl_file`` read.
    """
    if isinstance(cases, str | Path):
        cases = load_golden(Path(cases))
    target = Path(path)
    records = [
        golden_from_case(case, input_field=input_field).model_dump(
            include={"input", "expected_output", "name", "additional_metadata"}
        )
        for case in cases
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() == ".jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
    else:
        text = json.dumps(records, ensure_ascii=False, indent=2, default=str) + "\n"
    target.write_text(text, encoding="utf-8")
    return target


def import_goldens(path: str | Path, *, input_field: str = "input") -> list[Case]:
    """brittle cases from a deepeval goldens file (``.json``, ``.jsonl`` or ``.csv``)."""
    source = Path(path)
    if not source.is_file():
        raise ConfigError("goldens file does not exist", where=source, fix="check the path")
    dataset = EvaluationDataset()
    suffix = source.suffix.lower()
    try:
        if suffix == ".jsonl":
            dataset.add_goldens_from_jsonl_file(str(source))
        elif suffix == ".csv":
            dataset.add_goldens_from_csv_file(str(source))
        else:
            dataset.add_goldens_from_json_file(str(source))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"cannot read deepeval goldens: {exc}",
            where=source,
            fix="write it with brittle.deepeval.export_goldens or EvaluationDataset.save_as",
        ) from None
    return goldens_from_dataset(dataset, input_field=input_field, source=str(source))
