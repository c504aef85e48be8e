"""Bad inputs a user would make, and what each shows: one clear message, no traceback, and a
non-zero exit wherever the run cannot be trusted.

Each entry of :data:`BAD_INPUTS` builds a small project (a golden set, a Python system, an eval
file), spoils one thing, and runs it the way a user would: ``brittle run`` (in process, through
:func:`brittle.cli.main`) or ``pytest`` (pytester here, a subprocess for the table). The same
list writes the table of docs/bad-inputs.md and of the README's reliability section (between its
``<!-- bad-inputs -->`` markers)::

    python -m tests.integration.test_bad_inputs          # from the repository root

No model is called: the systems are the Python functions below.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT

SELF = "tests.integration.test_bad_inputs"
#: pytest plugins installed beside brittle that the projects here do not need (quicker runs)
UNUSED_PLUGINS = ("deepeval", "hypothesispytest", "asyncio", "anyio", "rerunfailures", "repeat")
GOLDEN = [
    {"id": "c1", "text": "a good day at the beach", "expected": "positive"},
    {"id": "c2", "text": "a bad day at the office", "expected": "negative"},
    {"id": "c3", "text": "good food and good friends", "expected": "positive"},
    {"id": "c4", "text": "bad weather and bad news", "expected": "negative"},
]
SUITE = {"name": "typos", "version": 1, "seed": 7, "perturbations": [{"family": "typo", "n": 1}]}


def answer(inputs: Mapping[str, Any]) -> str:
    """The system under test: right on every case."""
    return "positive" if "good" in str(inputs.get("text", "")) else "negative"


def eval_dict() -> dict[str, Any]:
    """The eval every entry starts from (a valid one)."""
    return {
        "name": "demo",
        "golden": "golden.jsonl",
        "systems": {"rules": {"kind": "python", "callable": f"{SELF}:answer"}},
        "checks": ["exact"],
        "gates": ["accuracy >= 0.5"],
    }


#: where the prompt systems point: a closed local port, so that even a call made by mistake
#: (a bad input not caught at load) reaches no provider
NOWHERE = "http://127.0.0.1:9/v1"


def prompt_system(**extra: Any) -> dict[str, Any]:
    """A prompt system (never called: each use of it is rejected at load)."""
    params = {"api_base": NOWHERE, **extra.pop("params", {})}
    return {
        "kind": "prompt",
        "model": "openai/gpt-4o-mini",
        "template": "{{ text }}",
        "params": params,
        **extra,
    }


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


API_TEST = """
import brittle
from {self} import NOWHERE, answer


@brittle.evaluation
def test_demo():
    return {body}
"""


def api(body: str) -> dict[str, str]:
    """A pytest file with an ``@brittle.evaluation`` function returning ``body``."""
    return {"test_api.py": API_TEST.format(self=SELF, body=textwrap.dedent(body).strip())}


@dataclass(frozen=True)
class Bad:
    """One bad input: how to make it, how to run it, and what the message must say."""

    what: str
    words: tuple[str, ...]
    #: changes to the eval (a function of the eval dict), or its whole text
    eval: Callable[[dict[str, Any]], None] | str | None = None
    #: files to write (relative path -> text or bytes); they replace the defaults
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    #: arguments after ``brittle run demo.eval.yaml`` (or after ``pytest``)
    args: tuple[str, ...] = ()
    #: ``run`` (brittle run), ``pytest``, or ``argv`` (``args`` is the whole brittle command)
    via: str = "run"
    env: Mapping[str, str] = field(default_factory=dict)
    #: runs before the bad run (a first good run that records a history, say)
    before: Callable[[Path], None] | None = None


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted key of the eval (``systems.rules.params``)."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


def _params(**params: Any) -> Callable[[dict[str, Any]], None]:
    return _set("systems", {"chat": prompt_system(params=params)})


def _with_suite(data: dict[str, Any]) -> None:
    data["suites"] = ["typos.yaml"]


def _relative(data: dict[str, Any]) -> None:
    data["gates"] = ["accuracy >= 0.5", "accuracy drop <= 0.1"]


def _suite(**changes: Any) -> dict[str, str]:
    suite = {**SUITE, **changes}
    return {"typos.yaml": yaml.safe_dump(suite, sort_keys=False)}


def _good_run(folder: Path) -> None:
    """A first run, so that the bad one finds a baseline, a history and a cache."""
    code, out = _brittle(folder, ["run", "demo.eval.yaml", "--update-baseline"], {})
    assert code == 0, out


def _corrupt(name: str) -> Callable[[Path], None]:
    def spoil(folder: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"this is not an SQLite file\n" * 200)

    return spoil


def _baseline(eval_name: str, version: int = 1, system: str = "rules") -> str:
    metrics = {"overall": {"accuracy": 1.0}}
    entry = {"fingerprint": "0" * 16, "metrics": metrics, "outcomes": {}}
    return json.dumps(
        {"brittle_baseline_version": version, "eval": eval_name, "systems": {system: entry}}
    )


BAD_INPUTS: tuple[Bad, ...] = (
    # -- the eval file
    Bad(
        "eval file that does not exist",
        ("nope.eval.yaml", "does not exist"),
        via="argv",
        args=("run", "nope.eval.yaml"),
    ),
    Bad(
        "YAML syntax error (unclosed bracket)",
        ("demo.eval.yaml:", "malformed YAML"),
        eval="name: demo\ngolden: golden.jsonl\nchecks: [exact\n",
    ),
    Bad(
        "YAML indented with a tab",
        ("demo.eval.yaml:", "malformed YAML"),
        eval="name: demo\nsystems:\n\trules: {}\n",
    ),
    Bad("empty eval file", ("must be a mapping",), eval=""),
    Bad("eval file that is a list", ("must be a mapping",), eval="- golden.jsonl\n"),
    Bad(
        "misspelt top-level key (`error_budjet`)",
        ("error_budjet", "did you mean 'error_budget'"),
        eval=_set("error_budjet", 0),
    ),
    Bad(
        "misspelt system key (`templte`)",
        ("templte", "did you mean 'template'", "systems.chat"),
        eval=_set("systems", {"chat": {"model": "openai/gpt-4o-mini", "templte": "{{ text }}"}}),
    ),
    Bad("missing `golden`", ("missing required key 'golden'",), eval=_drop("golden")),
    Bad("missing `systems`", ("missing required key 'systems'",), eval=_drop("systems")),
    Bad(
        "`golden` given as a list",
        ("'golden' must be a file path",),
        eval=_set("golden", ["golden.jsonl"]),
    ),
    Bad(
        "`systems` given as a list",
        ("'systems' must be a mapping",),
        eval=_set("systems", ["rules"]),
    ),
    Bad(
        "unknown system kind",
        ("unknown system kind 'chatbot'", "prompt, model, python"),
        eval=_set("systems.rules.kind", "chatbot"),
    ),
    Bad(
        "python system `callable` without a colon",
        ("not of the form 'module:function'",),
        eval=_set("systems.rules.callable", "answer"),
    ),
    Bad(
        "python system whose module does not import",
        ("cannot import module 'nosuchmodule'",),
        eval=_set("systems.rules.callable", "nosuchmodule:answer"),
    ),
    Bad(
        "python system naming a missing function",
        ("has no attribute 'answr'",),
        eval=_set("systems.rules.callable", f"{SELF}:answr"),
    ),
    Bad(
        "prompt system without `model`",
        ("needs 'model'",),
        eval=_set("systems", {"chat": {"kind": "prompt", "template": "{{ text }}"}}),
    ),
    Bad(
        "prompt system without `template`",
        ("needs a 'template'",),
        eval=_set("systems", {"chat": {"kind": "prompt", "model": "openai/gpt-4o-mini"}}),
    ),
    Bad(
        "template file that does not exist",
        ("prompt.txt", "does not exist"),
        eval=_set("systems", {"chat": prompt_system(template="prompt.txt")}),
    ),
    Bad(
        "template with a Jinja syntax error",
        ("template syntax error",),
        eval=_set("systems", {"chat": prompt_system(template="{{ text ")}),
    ),
    Bad(
        "template using a field the golden set lacks",
        ("undefined field 'question'",),
        eval=_set("systems", {"chat": prompt_system(template="{{ question }}")}),
    ),
    Bad(
        "`params` that is not a mapping",
        ("'params' must be a mapping",),
        eval=_set("systems", {"chat": {**prompt_system(), "params": [0.2]}}),
    ),
    Bad(
        '`temperature: "hot"`',
        ("params.temperature", "a number from 0 to 2", "'hot'"),
        eval=_params(temperature="hot"),
    ),
    Bad(
        "`api_base` where nothing listens (connection refused)",
        ("stopped at the first call", "connection refused", "nothing measured"),
        eval=lambda e: e["systems"].update(chat=prompt_system()),
        env={"OPENAI_API_KEY": "sk-test-0123456789abcdef"},
    ),
    Bad(
        "model string no provider knows (`nosuchprovider/some-model`)",
        ("stopped at the first call", "unknown model", "nothing measured"),
        eval=lambda e: e["systems"].update(
            chat={"kind": "prompt", "model": "nosuchprovider/some-model", "template": "{{ text }}"}
        ),
    ),
    Bad(
        "`temperature: 5`",
        ("params.temperature", "a number from 0 to 2"),
        eval=_params(temperature=5),
    ),
    Bad("`max_tokens: 0`", ("params.max_tokens", "at least 1"), eval=_params(max_tokens=0)),
    Bad(
        '`max_tokens: "64"` (quoted)',
        ("params.max_tokens", "whole number"),
        eval=_params(max_tokens="64"),
    ),
    Bad("`top_p: 1.5`", ("params.top_p", "from 0 to 1"), eval=_params(top_p=1.5)),
    Bad("`seed: 1.5` in params", ("params.seed", "whole number"), eval=_params(seed=1.5)),
    Bad("`timeout: -1` in params", ("params.timeout", "above 0"), eval=_params(timeout=-1)),
    Bad("`n: 0` in params", ("params.n", "at least 1"), eval=_params(n=0)),
    Bad(
        "negative `training_cost`",
        ("systems.rules.training_cost", "cannot be negative"),
        eval=_set("systems.rules.training_cost", -5),
    ),
    Bad(
        "`price` with a rate that is not a number",
        ("systems.rules.price.input_per_mtok", "non-negative number"),
        eval=_set("systems.rules.price", {"input_per_mtok": "cheap", "output_per_mtok": 1}),
    ),
    # -- checks and gates
    Bad("no checks", ("no checks",), eval=_set("checks", [])),
    Bad(
        "unknown check (`exakt`)", ("exakt", "did you mean 'exact'"), eval=_set("checks", ["exakt"])
    ),
    Bad(
        "check with an unknown parameter",
        ("no parameter 'choises'", "did you mean 'choices'"),
        eval=_set("checks", [{"label": {"choises": ["positive", "negative"]}}]),
    ),
    Bad("gate that cannot be read", ("cannot read gate",), eval=_set("gates", ["accuracy > > 1"])),
    Bad(
        "gate on an unknown metric",
        ("unknown metric 'acuracy'", "did you mean 'accuracy'"),
        eval=_set("gates", ["acuracy >= 0.8"]),
    ),
    Bad(
        "gate threshold that is not a number",
        ("not a number",),
        eval=_set("gates", [{"metric": "accuracy", "min": "high"}]),
    ),
    Bad(
        "gate mapping with a misspelt key",
        ("unknown key 'minn'", "did you mean 'min'"),
        eval=_set("gates", [{"metric": "accuracy", "minn": 0.8}]),
    ),
    Bad(
        "gate on a family no suite runs",
        ("names family 'typo'", "no suite"),
        eval=_set("gates", ["flip_rate[typo] <= 0.1"]),
    ),
    Bad(
        "gate on repeats without `repeats`",
        ("measures the repeats",),
        eval=_set("gates", ["self_disagreement <= 0.1"]),
    ),
    Bad(
        "`format_spread` gate without a `format_search`",
        ("gates[0]", "no format_search entry"),
        eval=_set("gates", ["format_spread <= 0.1"]),
    ),
    Bad(
        "`adapter_changed` gate without a fine-tune of known base",
        ("gates[0]", "no system of this eval is a fine-tune with a known base"),
        eval=_set("gates", ["adapter_changed >= 0.5"]),
    ),
    Bad(
        "`adapter_check` on a system whose base is unknown",
        ("systems.chat.adapter_check", "does not know its base model", "base: <model>"),
        eval=_set("systems", {"chat": prompt_system(adapter_check={"sample": 10})}),
    ),
    # -- suites
    Bad("suite file that does not exist", ("typos.yaml", "does not exist"), eval=_with_suite),
    Bad(
        "misspelt suite key (`perturbation`)",
        ("did you mean 'perturbations'",),
        eval=_with_suite,
        files={"typos.yaml": "name: typos\nperturbation:\n  - {family: typo}\n"},
    ),
    Bad(
        "unknown perturbation family (`typpo`)",
        ("typpo", "did you mean 'typo'"),
        eval=_with_suite,
        files=_suite(perturbations=[{"family": "typpo"}]),
    ),
    Bad(
        "misspelt perturbation key (`param`)",
        ("unknown key 'param'", "did you mean 'params'"),
        eval=_with_suite,
        files=_suite(perturbations=[{"family": "typo", "param": {}}]),
    ),
    Bad(
        "perturbation `n: 0`",
        ("'n' must be a positive whole number",),
        eval=_with_suite,
        files=_suite(perturbations=[{"family": "typo", "n": 0}]),
    ),
    Bad(
        "misspelt `format_search` key (`budgt`)",
        ("suites[0].format_search", "did you mean 'budget'"),
        eval=_set("suites", [{"format_search": {"budgt": 40}}]),
    ),
    # -- other eval keys
    Bad(
        "`concurrency: many`",
        ("'concurrency' must be a positive whole number",),
        eval=_set("concurrency", "many"),
    ),
    Bad("`error_budget: lots`", ("error_budget",), eval=_set("error_budget", "lots")),
    Bad("`alpha: 2`", ("'alpha' must be a significance level",), eval=_set("alpha", 2)),
    Bad(
        "`inconclusive: maybe`",
        ("'inconclusive' must be one of pass, fail",),
        eval=_set("inconclusive", "maybe"),
    ),
    Bad("`repeats: 0`", ("'repeats' must be a whole number",), eval=_set("repeats", 0)),
    Bad("`seed: seven`", ("'seed' must be a whole number",), eval=_set("seed", "seven")),
    Bad("`timeout: soon`", ("'timeout' must be a positive number",), eval=_set("timeout", "soon")),
    Bad(
        "misspelt `retries` key (`maxx`)",
        ("unknown key 'maxx' in 'retries'", "did you mean"),
        eval=_set("retries", {"maxx": 3}),
    ),
    Bad(
        "misspelt rate limit (`rpn`)",
        ("unknown limit 'rpn'", "did you mean 'rpm'"),
        eval=_set("rate_limits", {"*": {"rpn": 60}}),
    ),
    Bad(
        "`perturb_fields` naming a missing field",
        ("perturb_fields names 'body'",),
        eval=_set("perturb_fields", ["body"]),
    ),
    Bad(
        "`compare` naming a system the eval does not have",
        ("compare[0]", "'rule' is not a system of this eval", "did you mean 'rules'"),
        eval=_set("compare", [["rules", "rule"]]),
    ),
    # -- golden sets
    Bad(
        "golden file that does not exist",
        ("golden file 'missing.jsonl' does not exist",),
        eval=_set("golden", "missing.jsonl"),
    ),
    Bad("empty golden file", ("golden file has no rows",), files={"golden.jsonl": ""}),
    Bad(
        "duplicate case ids",
        ("duplicate case id 'c1'", "golden.jsonl:2"),
        files={"golden.jsonl": jsonl([GOLDEN[0], GOLDEN[0]])},
    ),
    Bad(
        "golden line that is not JSON",
        ("golden.jsonl:2", "invalid JSON"),
        files={"golden.jsonl": jsonl(GOLDEN[:1]) + "{'id': 'c2'}\n"},
    ),
    Bad(
        "golden row without an id",
        ("row has no 'id'",),
        files={"golden.jsonl": jsonl([{"text": "good", "expected": "positive"}])},
    ),
    Bad(
        "golden row without `expected`",
        ("case 'c1' has no 'expected'",),
        files={"golden.jsonl": jsonl([{"id": "c1", "text": "good"}])},
    ),
    Bad(
        "CSV golden set with an unclosed quote",
        ("golden.csv:3", "quoted cell is never closed"),
        eval=_set("golden", "golden.csv"),
        files={
            "golden.csv": 'id,text,expected\nr0,good,positive\nr1,"good, day,positive\n'
            "r2,bad,negative\n"
        },
    ),
    Bad(
        "CSV row with more cells than the header",
        ("golden.csv:2", "more cells than the header"),
        eval=_set("golden", "golden.csv"),
        files={"golden.csv": "id,text,expected\nr1,good,day,positive\n"},
    ),
    Bad(
        "golden file of an unsupported type",
        ("unsupported golden file type '.txt'",),
        eval=_set("golden", "golden.txt"),
        files={"golden.txt": "good\n"},
    ),
    Bad(
        "golden file that is not UTF-8",
        ("not valid UTF-8",),
        files={"golden.jsonl": b'{"id": "c1", "text": "caf\xe9", "expected": "positive"}\n'},
    ),
    # -- baselines
    Bad(
        "corrupt baseline JSON",
        ("baseline file is corrupt",),
        eval=_relative,
        files={"__baselines__/demo.json": '{"brittle_baseline_version": 1, "sys'},
    ),
    Bad(
        "baseline of another format version",
        ("format version 99",),
        eval=_relative,
        files={"__baselines__/demo.json": _baseline("demo", version=99)},
    ),
    Bad(
        "baseline file from another eval",
        ("belongs to eval 'other'", "__baselines__/other.json"),
        eval=_relative,
        files={"__baselines__/demo.json": _baseline("other", system="x")},
    ),
    # -- where the results go
    Bad(
        "report folder that is a file",
        ("cannot write the run reports", "is a file"),
        files={"reports": "not a folder\n"},
    ),
    Bad(
        "report folder under a file",
        ("cannot write the run reports", "is a file"),
        args=("--report-dir", "notes.txt/reports"),
        files={"notes.txt": "a file\n"},
    ),
    Bad(
        "corrupt run history",
        ("history.sqlite", "corrupt", "--brittle-history"),
        before=_corrupt("reports/history.sqlite"),
    ),
    Bad("run history that is a folder", ("run history is a folder",), args=("--history", "hist")),
    Bad(
        "corrupt response cache",
        ("cache.sqlite", "corrupt", "brittle cache clear"),
        before=_corrupt(".brittle/cache.sqlite"),
    ),
    # -- the command line and the environment
    Bad(
        "`--system` naming no system of the eval",
        ("no system 'rulez'", "did you mean 'rules'"),
        args=("--system", "rulez"),
    ),
    Bad(
        "`--concurrency many`",
        ("--concurrency", "invalid int value"),
        args=("--concurrency", "many"),
    ),
    Bad("unknown option (`--bogus`)", ("unrecognized arguments: --bogus",), args=("--bogus",)),
    Bad(
        "`--cache sometimes`",
        ("unknown response cache mode 'sometimes'", "rw"),
        args=("--cache", "sometimes"),
    ),
    Bad(
        "`BRITTLE_CACHE=sometimes`",
        ("BRITTLE_CACHE", "unknown response cache mode"),
        env={"BRITTLE_CACHE": "sometimes"},
    ),
    Bad(
        "`BRITTLE_RESPONSE_CACHE_DIR` under a file",
        ("cannot create the response cache", "is a file"),
        env={"BRITTLE_RESPONSE_CACHE_DIR": "notes.txt/cache"},
        files={"notes.txt": "a file\n"},
    ),
    Bad(
        "pytest: `--brittle-cache=sometimes`",
        ("unknown response cache mode",),
        args=("--brittle-cache=sometimes",),
        via="pytest",
    ),
    Bad(
        "pytest: unknown option `--brittle-system`",
        ("unrecognized arguments", "--brittle-system"),
        args=("--brittle-system", "rules"),
        via="pytest",
    ),
    Bad(
        "pytest: report folder that is a file",
        ("cannot write the run reports",),
        files={"reports": "not a folder\n"},
        via="pytest",
    ),
    Bad(
        "pytest: corrupt run history",
        ("history.sqlite", "corrupt"),
        before=_corrupt("reports/history.sqlite"),
        via="pytest",
    ),
    Bad(
        "pytest: misspelt eval key",
        ("error_budjet", "did you mean 'error_budget'"),
        eval=_set("error_budjet", 0),
        via="pytest",
    ),
    # -- the Python API (`@brittle.evaluation`)
    Bad(
        "Python eval: `systems=` one system, not a list",
        ("systems", "a list of systems", "test_api.py:"),
        eval="",
        via="pytest",
        files=api("""
        brittle.Eval(golden="golden.jsonl", checks=["exact"],
                     systems=brittle.CallableSystem("rules", answer))"""),
    ),
    Bad(
        "Python eval: golden rows as dicts",
        ("golden[0]", "brittle.Case", "a mapping"),
        eval="",
        via="pytest",
        files=api("""
        brittle.Eval(golden=[{"id": "c1", "text": "good"}], checks=["exact"],
                     systems=[brittle.CallableSystem("rules", answer)])"""),
    ),
    Bad(
        'Python eval: `checks="exact"` (a string)',
        ("checks", "a list of checks"),
        eval="",
        via="pytest",
        files=api("""
        brittle.Eval(golden="golden.jsonl", checks="exact",
                     systems=[brittle.CallableSystem("rules", answer)])"""),
    ),
    Bad(
        "Python eval: system name that is not text",
        ("name", "a system name"),
        eval="",
        via="pytest",
        files=api("""
        brittle.Eval(golden="golden.jsonl", checks=["exact"],
                     systems=[brittle.CallableSystem(answer, "rules")])"""),
    ),
    Bad(
        'Python eval: `PromptSystem` with `temperature="hot"`',
        ("temperature", "'hot'", "test_api.py:"),
        eval="",
        via="pytest",
        files=api("""
        brittle.Eval(golden="golden.jsonl", checks=["exact"],
                     systems=[brittle.PromptSystem("chat", "openai/gpt-4o-mini",
                                                   "{{ text }}", params={"temperature": "hot",
                                                                      "api_base": NOWHERE})])"""),
    ),
    Bad(
        "Python eval: `PromptSystem` without a template",
        ("template", "Jinja2 text"),
        eval="",
        via="pytest",
        files=api("""
        brittle.Eval(golden="golden.jsonl", checks=["exact"],
                     systems=[brittle.PromptSystem("chat", "openai/gpt-4o-mini", None)])"""),
    ),
)


# ----------------------------------------------------------------------------- running one


def write_project(folder: Path, bad: Bad) -> None:
    """The valid project, then the bad input."""
    (folder / "golden.jsonl").write_text(jsonl(GOLDEN))
    (folder / "pytest.ini").write_text(
        "[pytest]\naddopts = -p no:cacheprovider "
        + " ".join(f"-p no:{name}" for name in UNUSED_PLUGINS)
        + "\n"
    )
    data = eval_dict()
    if isinstance(bad.eval, str):
        text = bad.eval
    else:
        if bad.eval is not None:
            bad.eval(data)
        text = yaml.safe_dump(data, sort_keys=False)
    if not (bad.via == "pytest" and "test_api.py" in bad.files):
        (folder / "demo.eval.yaml").write_text(text)
    for name, content in bad.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if bad.args[:2] == ("--history", "hist"):
        (folder / "hist").mkdir()


@contextlib.contextmanager
def _environment(folder: Path, env: Mapping[str, str]) -> Iterator[None]:
    old_cwd, old_env = Path.cwd(), dict(os.environ)
    os.chdir(folder)
    os.environ.update(env)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)


def _brittle(folder: Path, argv: list[str], env: Mapping[str, str]) -> tuple[int, str]:
    """``brittle ARGV`` in this process: exit code and everything it printed."""
    from brittle.cli import main

    out = io.StringIO()
    with (
        _environment(folder, env),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(out),
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:
            out.write(traceback.format_exc())
            code = 1
    return code, out.getvalue()


def _pytest_subprocess(folder: Path, args: list[str], env: Mapping[str, str]) -> tuple[int, str]:
    environ = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def run_bad(bad: Bad, folder: Path, pytester: pytest.Pytester | None = None) -> tuple[int, str]:
    """Build the project in ``folder``, spoil it, run it: the exit code and the output."""
    write_project(folder, bad)
    if bad.before is not None:
        bad.before(folder)
    if bad.via == "argv":
        return _brittle(folder, list(bad.args), bad.env)
    if bad.via == "run":
        return _brittle(folder, ["run", "demo.eval.yaml", *bad.args], bad.env)
    if pytester is None:
        return _pytest_subprocess(folder, list(bad.args), bad.env)
    with _environment(folder, bad.env):
        result = pytester.runpytest(*bad.args)
    return int(result.ret), result.stdout.str() + result.stderr.str()


def message(output: str) -> str:
    """The lines of ``output`` that carry brittle's (or argparse's, or pytest's) message."""
    lines = [line.strip() for line in output.splitlines() if "usage:" not in line]
    keep = [
        i
        for i, line in enumerate(lines)
        if line.startswith(("brittle:", "brittle run:", "ERROR:", "error:", "stopped system"))
        or ": error:" in line
    ]
    if not keep:
        return " ".join(line for line in lines if line)[:300]
    first = keep[0]
    picked = [lines[first]]
    for line in lines[first + 1 : first + 4]:
        if line.startswith("fix:"):
            picked.append(line)
            break
    return " ".join(picked)


# ----------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b.what for b in BAD_INPUTS])
def test_bad_input_gives_one_clear_message(
    bad: Bad, tmp_path: Path, pytester: pytest.Pytester
) -> None:
    folder = pytester.path if bad.via == "pytest" else tmp_path
    code, output = run_bad(bad, folder, pytester)
    assert code != 0, f"exit 0 for: {bad.what}\n{output}"
    assert "Traceback" not in output, output
    assert "site-packages" not in output, output
    for word in bad.words:
        assert word in output, f"{word!r} not in the output for {bad.what}:\n{output}"


def test_the_table_shows_a_stopped_systems_line() -> None:
    """A system stopped at its first call prints no 'brittle:' line: the table shows its
    'stopped system' line (the cause and the fix), not the summary's first lines."""
    output = (
        "demo: 4 cases, 0 variants\n"
        "  rules              acc 1.000  errors 0  (4 rows, 0.0s)\n"
        "  chat               acc -  errors 4  (4 rows, 0.0s)\n"
        "    stopped system 'chat': openai/x at http://h/v1: connection refused (...); "
        "fix: start it\n"
        "    [FAILED] accuracy >= 0.5: nothing measured: 4 of 4 calls errored\n"
    )
    assert message(output) == (
        "stopped system 'chat': openai/x at http://h/v1: connection refused (...); fix: start it"
    )


def test_there_are_at_least_fifty_and_each_is_named_once() -> None:
    names = [bad.what for bad in BAD_INPUTS]
    assert len(names) >= 50
    assert len(set(names)) == len(names)


# ----------------------------------------------------------------------------- the table

TABLE_HEAD = """# Bad inputs and what they show

Each row is a mistake a user can make, and what brittle prints for it (the first line of the
message and its fix). Every one exits non-zero with no traceback: `brittle run` exits 2 on bad
input, pytest 4 on a bad option and 2 (or 1) on a collection error. Generated from
`tests/integration/test_bad_inputs.py`, which asserts each row:
`python -m tests.integration.test_bad_inputs` rewrites this file.

| bad input | what the user sees | exit |
|---|---|---|
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


README_START = "<!-- bad-inputs -->\n"
README_END = "<!-- /bad-inputs -->\n"


def readme_rows(readme: Path) -> list[str]:
    """The table rows between the README's bad-inputs markers."""
    text = readme.read_text(encoding="utf-8")
    inner = text[text.index(README_START) + len(README_START) : text.index(README_END)]
    return [line for line in inner.splitlines() if line.startswith("| ") and "---" not in line]


def test_the_readme_shows_every_bad_input() -> None:
    """The README's table names each bad input of this module once, in order (rewrite it with
    ``python -m tests.integration.test_bad_inputs`` after adding one)."""
    shown = [row.split(" | ")[0].removeprefix("| ") for row in readme_rows(ROOT / "README.md")]
    assert shown[1:] == [_cell(bad.what) for bad in BAD_INPUTS]


def write_table(out: Path, readme: Path | None = None) -> int:
    """Run every bad input (pytest ones in a subprocess) and write the markdown table (into
    ``out`` and between the README's markers)."""
    rows = []
    failures = 0
    for bad in BAD_INPUTS:
        with tempfile.TemporaryDirectory() as tmp:
            code, output = run_bad(bad, Path(tmp))
        shown = message(output.replace(tmp, "."))
        if code == 0 or "Traceback" in output:
            failures += 1
        runner = {"run": "brittle run", "argv": "brittle run", "pytest": "pytest"}[bad.via]
        rows.append(f"| {_cell(bad.what)} | {_cell(shown)} | {code} ({runner}) |\n")
    out.write_text(TABLE_HEAD + "".join(rows))
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        head, rest = text.split(README_START, 1)
        tail = rest.split(README_END, 1)[1]
        table = "| bad input | what the user sees | exit |\n|---|---|---|\n" + "".join(rows)
        readme.write_text(head + README_START + table + README_END + tail, encoding="utf-8")
    return failures


if __name__ == "__main__":
    failed = write_table(ROOT / "docs" / "bad-inputs.md", ROOT / "README.md")
    print(
        f"wrote docs/bad-inputs.md and README.md's table: {len(BAD_INPUTS)} bad inputs, "
        f"{failed} not handled"
    )
    sys.exit(1 if failed else 0)
