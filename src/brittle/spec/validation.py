"""What an eval's parts must agree on, checked when it is loaded (YAML and Python alike).

A template field the golden set lacks, a row without a field its system needs, a template that
uses no input field at all (every case would get the same prompt), a case without the expected
answer its checks need, or an expected label that is none of the label check's choices: each
would make every run wrong without an error, so each is a :class:`ConfigError` naming the file
and line of the template or the golden row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from brittle._errors import ConfigError
from brittle._registry import suggest
from brittle.checks import Check
from brittle.spec.cases import Case
from brittle.spec.systems import LLMSystem, System
from brittle.spec.yamlio import LinePath


def validate_fields(
    cases: Sequence[Case],
    systems: Sequence[System],
    checks: Sequence[Check],
    fields: Sequence[str],
    *,
    where: str,
    lines: Mapping[LinePath, int],
) -> None:
    """Every template uses a field of the golden set and only those, every row has what is
    needed, and every expected answer is one the checks can give."""
    known = {k for case in cases for k in case.inputs}
    for system in systems:
        needed = system.required_fields()
        undefined = sorted(needed - known)
        template = system.template if isinstance(system, LLMSystem) else None
        if undefined and template is not None:
            raise ConfigError(
                f"template of system '{system.name}' uses undefined field "
                f"'{undefined[0]}'; the golden set's fields are: {', '.join(sorted(known))}",
                where=template.source,
                line=template.line_of(undefined[0]),
                fix="rename the field in the template or add it to the golden rows",
            )
        if template is not None and not needed:
            raise ConfigError(
                f"the template of system '{system.name}' uses no input field, so every case "
                f"would get the same prompt ({_excerpt(template.text)}); the golden set's "
                f"input fields are: {', '.join(sorted(map(str, known)))}",
                where=where if template.source == "<inline>" else template.source,
                key=f"systems.{system.name}.template",
                fix="put the case's input into the template, e.g. '{{ "
                + (sorted(map(str, known)) or ["text"])[0]
                + " }}' (in Python, a template file is passed as Path(...) or "
                "brittle.Template.from_file(...), not as text)",
            )
        for case in cases:
            missing = sorted(needed - set(case.inputs))
            if missing:
                raise ConfigError(
                    f"case '{case.id}' has no field '{missing[0]}', which the template of "
                    f"system '{system.name}' needs",
                    where=case.source,
                    key=missing[0],
                    fix="add the field to this row (or make the template not need it)",
                )
    if any(c.requires_expected for c in checks):
        for case in cases:
            if case.expected is None:
                raise ConfigError(
                    f"case '{case.id}' has no 'expected' answer, which the checks need",
                    where=case.source,
                    key="expected",
                    fix="add 'expected' to the row",
                )
    validate_expected(cases, checks)
    unknown_fields = sorted(set(fields) - known)
    if unknown_fields:
        raise ConfigError(
            f"perturb_fields names '{unknown_fields[0]}', which no golden row has",
            where=where,
            line=lines.get(("perturb_fields",)),
            key="perturb_fields",
            fix=f"use fields of the golden set: {', '.join(sorted(known))}",
        )


def validate_expected(cases: Sequence[Case], checks: Sequence[Check]) -> None:
    """Each case's expected answer is one each check can give (a label check's choices)."""
    for check in checks:
        for case in cases:
            problem = check.unreachable(case)
            if problem is not None:
                choices = [str(c) for c in check.params.get("choices") or ()]
                hint = suggest(str(case.expected), choices) if choices else ""
                raise ConfigError(
                    f"case '{case.id}': {problem}",
                    where=case.source,
                    key="expected",
                    fix=f"{hint}fix the row's expected answer, or add it to the check's "
                    "choices (or as a synonym of one)",
                )


def _excerpt(text: str, limit: int = 60) -> str:
    shown = " ".join(text.split())
    return repr(shown if len(shown) <= limit else shown[: limit - 1] + "…")


__all__ = ["validate_expected", "validate_fields"]
