"""Eval projects whose systems call the local stub server (tests/support/stub_server.py) through
litellm: the code path of a hosted API, offline.

The stub answers the first word of the prompt, and the template starts with the case's expected
label, so every answered case passes its check: a wrong answer can only come from a bug.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.support import ROOT
from tests.support.stub_server import StubThread, start_in_thread

__all__ = ["FAKE_KEY", "StubThread", "brittle", "start_in_thread", "write_eval"]

#: a made-up key, sent to the stub as the bearer token; tests scan artifacts for it
FAKE_KEY = "sk-brittle-FAKE-0123456789abcdefXYZ"


def golden_rows(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    labels = ("positive", "negative")
    return [
        {
            "id": f"r{i:04d}",
            "text": f"review {i} of a product, mostly about item {i % 7}",
            "hint": labels[i % 2],
            "expected": labels[i % 2],
        }
        for i in range(start, start + n)
    ]


def write_eval(
    folder: Path,
    base_url: str,
    *,
    cases: int = 20,
    name: str = "stubbed",
    systems: dict[str, str] | None = None,
    gates: tuple[str, ...] = ("accuracy >= 0.9",),
    extra: str = "",
    concurrency: int = 8,
    variants: int = 1,
) -> Path:
    """Write golden.jsonl, a typo suite and ``<name>.eval.yaml`` into ``folder``; returns the
    eval file. Each case has ``variants`` typo variants: a run makes ``cases x (1 + variants)``
    calls per system.

    ``systems`` maps system names to model strings (default: one system on ``openai/stub``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "golden.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in golden_rows(cases))
    )
    systems = systems or {"echo": "openai/stub"}
    system_text = "".join(
        f"  {sname}:\n"
        f"    kind: prompt\n"
        f"    model: {model}\n"
        '    template: "{{ hint }} is what I think of {{ text }}"\n'
        f'    params: {{api_base: "{base_url}", temperature: 0}}\n'
        for sname, model in systems.items()
    )
    gate_text = "".join(f"  - {g}\n" for g in gates)
    (folder / "suites").mkdir(exist_ok=True)
    (folder / "suites" / "typos.yaml").write_text(
        "name: typos\nversion: 1\nseed: 7\nperturbations:\n"
        f"  - family: typo\n    n: {variants}\n    params: {{rate: 0.1}}\n"
    )
    text = (
        f"name: {name}\n"
        "golden: golden.jsonl\n"
        "perturb_fields: [text]\n"
        f"systems:\n{system_text}"
        "checks:\n  - label: {choices: [positive, negative]}\n"
        + ("suites: [suites/typos.yaml]\n" if variants else "")
        + f"gates:\n{gate_text}"
        f"concurrency: {concurrency}\n" + textwrap.dedent(extra)
    )
    path = folder / f"{name}.eval.yaml"
    path.write_text(text)
    return path


def add_preamble_suite(eval_path: Path) -> None:
    """Add a template-level suite to an eval from :func:`write_eval`: one preamble line before
    the system's template per case, answered by a rewritten copy of the system."""
    suites = eval_path.parent / "suites"
    (suites / "wording.yaml").write_text(
        "name: wording\nversion: 1\nseed: 3\nperturbations:\n"
        "  - family: preamble\n    n: 1\n    params: {kind: both}\n"
    )
    text = eval_path.read_text()
    assert "suites: [suites/typos.yaml]" in text
    eval_path.write_text(
        text.replace(
            "suites: [suites/typos.yaml]", "suites: [suites/typos.yaml, suites/wording.yaml]"
        )
    )


def env(**extra: str) -> dict[str, str]:
    """The environment of a child brittle process: offline settings and the fake key."""
    out = dict(os.environ)
    out.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        DEEPEVAL_TELEMETRY_OPT_OUT="YES",
        OPENAI_API_KEY=FAKE_KEY,
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), out.get("PYTHONPATH", "")]),
    )
    out.pop("BRITTLE_CACHE", None)
    out.pop("BRITTLE_RESPONSE_CACHE_DIR", None)
    out.update(extra)
    return out


_CHILD = """
import os, sys, time, pathlib
import litellm, brittle.cli
go = os.environ.get("BRITTLE_TEST_GO")
if go:  # imported and ready: wait for the signal, so that several children start together
    pathlib.Path(go + "." + str(os.getpid())).touch()
    while not os.path.exists(go):
        time.sleep(0.01)
sys.exit(brittle.cli.main())
"""


def brittle(*args: str, cwd: Path, **popen: Any) -> subprocess.Popen[str]:
    """Start ``brittle ARGS`` (the console script's code) in a child process.

    With ``BRITTLE_TEST_GO=PATH`` in its environment the child imports everything, touches
    ``PATH.<pid>`` and waits for ``PATH`` to exist before it runs.
    """
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        cwd=cwd,
        env=popen.pop("env", None) or env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
