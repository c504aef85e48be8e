"""deepeval interop: judged checks, judge stability, ConsistencyMetric, golden sets both ways, and
coexisting with deepeval's pytest plugin without touching the network.

Judges here are deterministic: the benchmark stub server on 127.0.0.1 answering fixed judge JSON,
or a scripted transport behind a Gateway. One test (marked ``model``) uses the embedded SmolLM2
as the judge, to show that it runs and that the second evaluation makes no model calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("deepeval", reason="the optional extra: pip install 'brittle[deepeval]'")

from deepeval import assert_test
from deepeval.dataset import EvaluationDataset, Golden
from deepeval.test_case import LLMTestCase

from brittle import CallableSystem, Case, ConfigError, Eval, PromptSystem
from brittle.checks import make_check
from brittle.deepeval import (
    ConsistencyMetric,
    GatewayJudge,
    dataset_from_cases,
    deepeval_check,
    export_goldens,
    goldens_from_dataset,
    import_goldens,
)
from brittle.gateway import CallRequest, CallResult, Gateway, LiteLLMTransport
from brittle.gateway.cache import ResponseCache
from brittle.run.engine import EvalRun
from brittle.spec.eval import build_spec
from brittle.spec.golden import load_golden
from tests.support import ROOT
from tests.support.sessions import run_eval
from tests.support.stub_server import StubThread, start_in_thread

PASS_JSON = json.dumps(
    {
        "steps": ["Compare the actual output with the expected output."],
        "reason": "The answer states the expected sentiment.",
        "score": 8,
        "statements": ["The sentiment is positive."],
        "verdicts": [{"verdict": "yes"}],
    }
)
FAIL_JSON = json.dumps(
    {
        "steps": ["Compare the actual output with the expected output."],
        "reason": "The answer contradicts the expected output.",
        "score": 2,
    }
)
CRITERIA = "Does the actual output state the same sentiment as the expected output?"
PARAMS = ["input", "actual_output", "expected_output"]

CASES = [
    Case("r1", {"text": "The battery lasts all week"}, "positive", ("battery",)),
    Case("r2", {"text": "The screen cracked after two days"}, "negative", ("screen",)),
    Case("r3", {"text": "Friendly staff and a spotless room"}, "positive"),
]


def _hint(inputs: dict[str, Any]) -> str:
    text = inputs["text"].lower()
    return "negative" if "crack" in text else "positive"


@pytest.fixture(scope="module")
def stub() -> Iterator[StubThread]:
    with start_in_thread(
        latency=0.0,
        replies={"judge-pass": PASS_JSON, "judge-fail": FAIL_JSON, "judge-prose": "Looks fine."},
    ) as server:
        yield server


def _judged(stub: StubThread, model: str = "judge-pass", **options: Any) -> Any:
    return deepeval_check(
        "geval",
        criteria=CRITERIA,
        evaluation_params=PARAMS,
        judge=f"openai/{model}",
        judge_params={"api_base": stub.base_url, "api_key": "stub"},
        **options,
    )


def _run(tmp_path: Path, check: Any, *, gateway: Gateway | None = None, **extra: Any) -> EvalRun:
    definition = Eval(
        golden=CASES,
        systems=[CallableSystem("rules", _hint)],
        checks=[check],
        gates=["accuracy >= 0.5"],
        **extra,
    )
    return run_eval(build_spec(definition, source=tmp_path / "judged.py"), gateway=gateway)


# --------------------------------------------------------------------------- the check


def test_geval_check_runs_end_to_end_with_a_stub_judge(stub: StubThread, tmp_path: Path) -> None:
    gateway = Gateway(concurrency=4)
    before = stub.stats.requests
    run = _run(tmp_path, _judged(stub), gateway=gateway)
    result = run.systems["rules"]
    assert result.metrics["overall"]["accuracy"] == 1.0
    assert result.columns["score"] == [0.8, 0.8, 0.8]  # GEval's 0-10 rubric score, scaled
    assert result.columns["error"] == [None, None, None]
    # GEval writes its evaluation steps, then scores: two judge calls per output, all of them
    # through the run's gateway (one system call per row on top)
    assert stub.stats.requests - before == 6
    assert gateway.calls == 3 + 6

    failing = _run(tmp_path, _judged(stub, "judge-fail")).systems["rules"]
    assert failing.metrics["overall"]["accuracy"] == 0.0
    assert failing.columns["passed"] == [False, False, False]
    assert failing.columns["score"] == [0.2, 0.2, 0.2]
    detail = failing.columns["checks"][0]
    assert "geval failed (score 0.20, threshold 0.5)" in detail
    assert "contradicts the expected output" in detail  # the judge's reason


def test_evaluation_steps_skip_the_steps_call(stub: StubThread) -> None:
    check = _judged(stub, evaluation_steps=["Is the sentiment the expected one?"])
    before = stub.stats.requests
    results = check.check_batch(["positive", "negative"], CASES[:2])
    assert [r.passed for r in results] == [True, True]
    assert stub.stats.requests - before == 2


def test_any_deepeval_metric_runs_answer_relevancy(stub: StubThread) -> None:
    check = deepeval_check(
        "answer_relevancy",
        judge="openai/judge-pass",
        judge_params={"api_base": stub.base_url, "api_key": "stub"},
        threshold=0.7,
    )
    assert not check.requires_expected  # answer relevancy reads input and output only
    (result,) = check.check_batch(["It is positive."], CASES[:1])
    assert result.passed and result.score == 1.0


def test_the_check_is_built_from_eval_file_form_with_secrets_masked(stub: StubThread) -> None:
    check = make_check(
        "deepeval",
        {
            "metric": "geval",
            "criteria": CRITERIA,
            "evaluation_params": PARAMS,
            "judge": "openai/judge-pass",
            "judge_params": {"api_base": stub.base_url, "api_key": "sk-secret"},
            "threshold": 0.6,
            "judge_repeats": 3,
            "drop_unstable": True,
        },
    )
    assert check.requires_expected
    assert check.params["judge_params"]["api_key"] == "***"
    assert "sk-secret" not in check.describe()
    assert "judge_repeats=3" in check.describe()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"metric": "geval_", "judge": "openai/x"}, "did you mean 'geval'?"),
        ({"metric": "answer_relevancy", "judge": "openai/x", "criteria": "c"}, "no parameter"),
        ({"judge": "openai/x"}, "needs 'criteria' or 'evaluation_steps'"),
        ({"metric": "faithfulness", "judge": "openai/x", "threshold": "high"}, "a number"),
        (
            {
                "metric": "geval",
                "judge": "openai/x",
                "criteria": "c",
                "metric_params": {"rubric": 3},
            },
            "rejected its parameters",
        ),
        ({"judge": "openai/x", "criteria": "c", "evaluation_params": ["output"]}, "unknown"),
        ({"judge": "openai/x", "criteria": "c", "judge_repeats": 0}, "at least 1"),
        ({"judge": "openai/x", "criteria": "c", "metric_params": {"top_logprob": 3}}, "top_"),
        ({"metric": "json:loads", "judge": "openai/x"}, "not a deepeval BaseMetric"),
        ({"metric": "geval", "criteria": "c"}, "needs the parameter 'judge'"),
    ],
)
def test_bad_parameters_fail_when_the_eval_loads(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        make_check("deepeval", params, where="demo.eval.yaml")


def test_a_judge_failure_is_a_row_error_not_a_wrong_answer(
    stub: StubThread, tmp_path: Path
) -> None:
    run = _run(tmp_path, _judged(stub, "judge-prose"), error_budget=3).systems["rules"]
    assert run.columns["passed"] == [None, None, None]
    error = run.columns["error"][0]
    assert error.startswith("check deepeval(") and "no valid Steps JSON" in error
    assert "'Looks fine.'" in error
    assert run.metrics["overall"]["errors"] == 3
    assert run.metrics["overall"]["accuracy"] is None


# --------------------------------------------------------------------------- judge stability


class WobblyJudge:
    """A scripted judge: 'maybe' outputs pass on repeats 0 and 1 and fail on repeat 2."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, CallRequest]] = []

    async def complete(self, request: CallRequest) -> CallResult:
        repeat = request.repeat or 0
        self.requests.append((repeat, request))
        prompt = request.messages[-1]["content"]
        wobbly = "maybe" in prompt and repeat == 2
        return CallResult(text=FAIL_JSON if wobbly else PASS_JSON, cost=0.001)


def _wobbly_system(inputs: dict[str, Any]) -> str:
    return "maybe positive" if "battery" in inputs["text"] else _hint(inputs)


def _stability_run(tmp_path: Path, drop_unstable: bool) -> tuple[EvalRun, WobblyJudge]:
    judge = WobblyJudge()
    check = deepeval_check(
        "geval",
        criteria=CRITERIA,
        evaluation_steps=["Is the sentiment the expected one?"],
        evaluation_params=PARAMS,
        judge="openai/scripted",
        judge_repeats=3,
        drop_unstable=drop_unstable,
    )
    definition = Eval(
        golden=CASES,
        systems=[CallableSystem("wobbly", _wobbly_system)],
        checks=[check],
        gates=["accuracy >= 0.5"],
    )
    spec = build_spec(definition, source=tmp_path / "stability.py")
    return run_eval(spec, gateway=Gateway(judge, concurrency=4)), judge


def test_judge_repeats_report_self_agreement_and_flag_unstable_outputs(tmp_path: Path) -> None:
    run, judge = _stability_run(tmp_path, drop_unstable=False)
    result = run.systems["wobbly"]
    overall = result.metrics["overall"]
    assert overall["judge_agreement"] == pytest.approx(2 / 3)  # 2 of 3 outputs judged alike
    assert overall["judge_unstable"] == 1
    assert overall["excluded"] == 0
    assert overall["judge_cost"] == pytest.approx(9 * 0.001)  # 3 outputs x 3 runs, 1 call each
    # every repeat is a distinct call (the repeat index is what a cache keys on)
    assert sorted(repeat for repeat, _ in judge.requests) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert result.columns["passed"] == [True, True, True]  # the majority verdict counts
    assert result.columns["checks"][0] == "unstable judge: 2/3 verdicts agree"
    assert result.columns["score"][0] == pytest.approx((0.8 + 0.8 + 0.2) / 3)
    assert result.columns["checks"][1:] == ["", ""]


def test_drop_unstable_leaves_unstable_verdicts_out_of_the_gates(tmp_path: Path) -> None:
    run, _ = _stability_run(tmp_path, drop_unstable=True)
    result = run.systems["wobbly"]
    overall = result.metrics["overall"]
    assert result.columns["passed"] == [None, True, True]
    assert result.columns["error"] == [None, None, None]  # left out, not errored
    assert "left out of the gates" in result.columns["checks"][0]
    assert overall["excluded"] == 1
    assert overall["cases"] == 2 and overall["accuracy"] == 1.0
    assert overall["errors"] == 0


# --------------------------------------------------------------------------- judge model


def test_gateway_judge_parses_schema_replies_and_counts_calls(stub: StubThread) -> None:
    from deepeval.metrics.g_eval.schema import ReasonScore

    judge = GatewayJudge("openai/judge-pass", {"api_base": stub.base_url, "api_key": "stub"})
    parsed = judge.generate("Score it.", schema=ReasonScore)
    assert isinstance(parsed, ReasonScore) and parsed.score == 8
    assert judge.generate("Say something.") == PASS_JSON  # no schema: the text itself
    assert judge.calls == 2 and judge.get_model_name() == "openai/judge-pass"


# --------------------------------------------------------------------------- ConsistencyMetric


def _keyword_classifier(text: str) -> str:
    return "positive" if "great" in text.lower() else "negative"


def _case_sensitive_classifier(text: str) -> str:
    return "positive" if "Great" in text else "negative"


SURFACE = ["casing", "whitespace", "punctuation"]


def test_consistency_metric_passes_for_a_stable_system() -> None:
    metric = ConsistencyMetric(_keyword_classifier, perturbations=SURFACE, n=2, threshold=0.9)
    assert_test(LLMTestCase(input="A Great little phone, and the battery lasts."), [metric])
    direct = ConsistencyMetric(_keyword_classifier, perturbations=SURFACE, n=2)
    score = direct.measure(LLMTestCase(input="A Great little phone, and the battery lasts."))
    assert score == 1.0 and direct.is_successful()
    assert set(direct.score_breakdown) == {"casing", "whitespace", "punctuation"}
    assert "got the original's answer 'positive'" in str(direct.reason)


def test_consistency_metric_fails_for_a_brittle_system() -> None:
    metric = ConsistencyMetric(
        _case_sensitive_classifier, perturbations=SURFACE, n=2, threshold=0.9
    )
    with pytest.raises(AssertionError, match="Consistency") as raised:
        assert_test(LLMTestCase(input="A Great little phone, and the battery lasts."), [metric])
    assert "casing" in str(raised.value)  # the reason names the variants that changed answer
    direct = ConsistencyMetric(_case_sensitive_classifier, perturbations=SURFACE, n=2)
    score = direct.measure(LLMTestCase(input="A Great little phone, and the battery lasts."))
    assert score < 0.9 and not direct.is_successful()
    assert direct.score_breakdown["casing"] < 1.0
    assert direct.score_breakdown["whitespace"] == 1.0


def test_consistency_metric_runs_a_prompt_system_through_the_gateway(stub: StubThread) -> None:
    # the stub answers with the first word of the prompt: casing changes it, typos do not
    system = PromptSystem(
        "echo",
        "openai/echo",
        "{{ review }} is what the customer wrote.",
        params={"api_base": stub.base_url, "api_key": "stub"},
    )
    label = {"label": {"choices": ["great", "awful"]}}
    gateway = Gateway(concurrency=4)
    stable = ConsistencyMetric(system, ["whitespace"], n=2, check=label, gateway=gateway)
    assert stable.measure(LLMTestCase(input="great value, awful box")) == 1.0
    assert gateway.calls == 1 + len(stable.variants)
    brittle = ConsistencyMetric(system, [{"family": "typo", "n": 3}], check=label)
    assert brittle.measure(LLMTestCase(input="Great")) == 0.0  # "Graet" is no label


def test_consistency_metric_survives_deepeval_copying_and_reports_errors() -> None:
    from deepeval.metrics.utils import copy_metrics

    metric = ConsistencyMetric(_keyword_classifier, perturbations="typo", n=4, threshold=0.5)
    (copied,) = copy_metrics([metric])
    assert isinstance(copied, ConsistencyMetric) and copied.n == 4 and copied.threshold == 0.5

    def broken(text: str) -> str:
        raise RuntimeError("model down")

    failing = ConsistencyMetric(broken, perturbations=SURFACE)
    assert failing.measure(LLMTestCase(input="Great phone")) == 0.0
    assert not failing.is_successful()
    assert "failed on the original input: RuntimeError: model down" in str(failing.error)


# --------------------------------------------------------------------------- golden sets


def _plain(case: Case) -> tuple[Any, ...]:
    return (case.id, dict(case.inputs), case.expected, case.tags)


def test_dataset_round_trip_keeps_ids_inputs_expected_and_tags(tmp_path: Path) -> None:
    cases = [
        *CASES,
        Case("q1", {"question": "2+2?", "context": "arithmetic"}, 4, ("math", "easy")),
        Case("q2", {"question": "Capital of France?"}, {"city": "Paris"}),
        Case("q3", {"question": "Unknown?"}, None, ("open",)),
    ]
    dataset = dataset_from_cases(cases)
    assert isinstance(dataset, EvaluationDataset)
    first, multi = dataset.goldens[0], dataset.goldens[3]
    assert (first.name, first.input, first.expected_output) == (
        "r1",
        "The battery lasts all week",
        "positive",
    )
    assert json.loads(multi.input) == {"question": "2+2?", "context": "arithmetic"}
    assert multi.expected_output == "4"
    back = goldens_from_dataset(dataset)
    assert [_plain(c) for c in back] == [_plain(c) for c in cases]

    for name in ("goldens.json", "goldens.jsonl"):
        path = export_goldens(cases, tmp_path / name)
        assert [_plain(c) for c in import_goldens(path)] == [_plain(c) for c in cases]
    # deepeval reads the exported file with its own loader, too
    native = EvaluationDataset()
    native.add_goldens_from_json_file(str(tmp_path / "goldens.json"))
    assert [g.name for g in native.goldens] == [c.id for c in cases]


def test_the_demo_golden_file_round_trips_through_deepeval(tmp_path: Path) -> None:
    golden = ROOT / "fixtures" / "sentiment" / "golden.jsonl"
    cases = load_golden(golden)
    path = export_goldens(golden, tmp_path / "sentiment.json")
    assert [_plain(c) for c in import_goldens(path)] == [_plain(c) for c in cases]


def test_goldens_written_with_deepeval_become_cases() -> None:
    goldens = [
        Golden(input="Is it good?", expected_output="yes", name="g-a"),
        Golden(
            input="Summarise.",
            context=["one", "two"],
            additional_metadata={"tags": ["rag"]},
        ),
    ]
    first, second = goldens_from_dataset(goldens, input_field="question")
    assert _plain(first) == ("g-a", {"question": "Is it good?"}, "yes", ())
    assert _plain(second) == (
        "golden-2",
        {"question": "Summarise.", "context": ["one", "two"]},
        None,
        ("rag",),
    )
    with pytest.raises(ConfigError, match="duplicate case id 'g-a'"):
        goldens_from_dataset([goldens[0], goldens[0]])
    with pytest.raises(ConfigError, match="reserved"):
        goldens_from_dataset([Golden(input="x", name="a[1]")])


# --------------------------------------------------------------------------- local judge


class CountingTransport:
    """Counts the calls that reach the model (a response-cache hit never does)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    async def complete(self, request: CallRequest) -> CallResult:
        self.calls += 1
        result: CallResult = await self.inner.complete(request)
        return result


def test_judge_calls_are_cached_by_the_gateway(stub: StubThread, tmp_path: Path) -> None:
    check = _judged(stub)
    path = tmp_path / "cache.sqlite"
    before = stub.stats.requests
    first = _run(tmp_path, check, gateway=Gateway(cache=ResponseCache(path)))
    # the steps prompt is the same for every output: asked once; then one score per output
    assert stub.stats.requests - before == 1 + 3
    again = Gateway(cache=ResponseCache(path))  # a rerun: a new gateway on the same cache
    second = _run(tmp_path, check, gateway=again)
    assert stub.stats.requests - before == 4  # the rerun made no judge call and no system call
    assert again.cache_hits == 3 + 3 + 3  # system calls, steps and scores of 3 outputs
    assert second.systems["rules"].columns["score"] == first.systems["rules"].columns["score"]


@pytest.mark.model
def test_smollm2_as_judge_runs_and_its_second_evaluation_is_served_from_the_cache(
    tmp_path: Path,
) -> None:
    def judge_check(gateway: Gateway) -> Any:
        return deepeval_check(
            "geval",
            criteria=CRITERIA,
            evaluation_steps=["Check that the actual output has the expected sentiment."],
            evaluation_params=PARAMS,
            judge="local/smollm2",
            judge_params={"temperature": 0, "max_tokens": 32},
            gateway=gateway,
        )

    path = tmp_path / "cache.sqlite"
    transport = CountingTransport(LiteLLMTransport())
    first = judge_check(Gateway(transport, cache=ResponseCache(path))).check("positive", CASES[0])
    assert transport.calls == 1  # one scoring call (the steps are given)
    # SmolLM2-135M is far too small to judge: it usually does not write the JSON asked for,
    # which is recorded as a judge error (never as a verdict); either way the check ran to the
    # end through the gateway
    assert first.error is not None or first.score is not None
    again = Gateway(transport, cache=ResponseCache(path))
    second = judge_check(again).check("positive", CASES[0])
    assert transport.calls == 1  # the second evaluation made no model call
    assert again.cache_hits == 1
    assert second == first


# --------------------------------------------------------------------------- coexistence

RUNNER = """
import json, os, socket, sys

EVENTS = []
LOCAL_HOSTS = {None, "localhost", "127.0.0.1", "::1", b"localhost", b"127.0.0.1"}


def audit(event, args):
    if event == "socket.getaddrinfo" and args[0] not in LOCAL_HOSTS:
        EVENTS.append(["getaddrinfo", repr(args[0])])
        raise OSError("network blocked by the test: getaddrinfo %r" % (args[0],))
    if event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not (host.startswith("127.") or host == "::1"):
                EVENTS.append(["connect", repr(address)])
                raise OSError("network blocked by the test: connect %r" % (address,))


sys.addaudithook(audit)
from tests.support.stub_server import start_in_thread  # noqa: E402  (PYTHONPATH: the repository)

env_before = os.environ.get("DEEPEVAL_TELEMETRY_OPT_OUT")
with start_in_thread(latency=0.0, reply=sys.argv[1]) as stub:
    os.environ["STUB_URL"] = stub.base_url
    with open("judged.eval.yaml", "w") as handle:
        handle.write(open("judged.eval.template").read().replace("STUB_URL", stub.base_url))
    import pytest

    code = pytest.main(["-p", "no:cacheprovider", "-q", "-rA", "."])
plugins = sorted(name for name in sys.modules if name.startswith("deepeval.plugins"))
try:
    socket.getaddrinfo("example.invalid", 443)  # the control: the hook must catch this
except OSError:
    pass
json.dump(
    {
        "code": int(code),
        "events": EVENTS,
        "telemetry_before": env_before,
        "telemetry_after": os.environ.get("DEEPEVAL_TELEMETRY_OPT_OUT"),
        "deepeval_plugin": plugins,
    },
    open("audit.json", "w"),
)
"""

PROJECT_TEST = """
import os

import brittle
from deepeval import assert_test
from deepeval.test_case import LLMTestCase

from brittle.deepeval import ConsistencyMetric, dataset_from_cases, goldens_from_dataset


def classify(text):
    return "positive" if "great" in text.lower() else "negative"


def test_consistency_in_assert_test():
    metric = ConsistencyMetric(classify, perturbations=["casing", "typo"], n=2, threshold=0.5)
    assert_test(LLMTestCase(input="A great phone"), [metric])


def test_dataset_round_trip():
    cases = [brittle.Case("a", {"text": "great"}, "positive", ("t",))]
    assert goldens_from_dataset(dataset_from_cases(cases))[0].tags == ("t",)


@brittle.evaluation
def test_python_eval():
    return brittle.Eval(
        golden=[brittle.Case("a", {"text": "great phone"}, "positive")],
        systems=[brittle.CallableSystem("rules", lambda inputs: classify(inputs["text"]))],
        checks=[{"deepeval": {"criteria": "Same sentiment?", "judge": "openai/judge",
                 "evaluation_params": ["actual_output", "expected_output"],
                 "judge_params": {"api_base": os.environ["STUB_URL"], "api_key": "stub"}}}],
        gates=["accuracy >= 1.0"],
    )
"""

PROJECT_EVAL = """
name: judged
golden: golden.jsonl
systems:
  rules:
    kind: python
    callable: rules:answer
checks:
  - deepeval:
      metric: geval
      criteria: "Does the actual output state the expected sentiment?"
      evaluation_params: [input, actual_output, expected_output]
      judge: openai/judge
      judge_params: {api_base: "STUB_URL", api_key: stub}
      judge_repeats: 3
gates:
  - accuracy >= 1.0
"""


def test_a_run_with_deepeval_and_its_plugin_makes_no_network_attempt(tmp_path: Path) -> None:
    """deepeval imported, its pytest plugin loaded, a judged YAML eval, a judged Python eval and
    ConsistencyMetric in assert_test: no DNS look-up and no connection beyond 127.0.0.1, with
    the telemetry variable unset at the start (brittle sets it)."""
    (tmp_path / "runner.py").write_text(RUNNER)
    (tmp_path / "test_interop.py").write_text(PROJECT_TEST)
    (tmp_path / "judged.eval.template").write_text(PROJECT_EVAL)
    (tmp_path / "rules.py").write_text(
        "def answer(inputs):\n    return 'positive' if 'great' in inputs['text'] else 'negative'\n"
    )
    (tmp_path / "golden.jsonl").write_text(
        '{"id": "g1", "text": "great phone", "expected": "positive"}\n'
        '{"id": "g2", "text": "bad phone", "expected": "negative"}\n'
    )
    # runner.py runs from tmp_path, so that folder is sys.path[0] and rules.py imports as is.
    (tmp_path / "home").mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DEEPEVAL_", "LITELLM_", "HF_HUB_", "PYTEST_"))
    }
    env["HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "runner.py", PASS_JSON],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (tmp_path / "audit.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    audit = json.loads((tmp_path / "audit.json").read_text())
    output = done.stdout[-4000:]
    assert audit["code"] == 0, output
    assert audit["events"] == [["getaddrinfo", "'example.invalid'"]], output  # the control only
    assert audit["telemetry_before"] is None and audit["telemetry_after"] == "YES"
    assert audit["deepeval_plugin"] == ["deepeval.plugins", "deepeval.plugins.plugin"]
    assert "PASSED test_interop.py::test_consistency_in_assert_test" in output
    assert "PASSED judged.eval.yaml::rules::accuracy>=1" in output
    assert "PASSED test_interop.py::test_python_eval::rules::accuracy>=1" in output
    assert "4 passed" in output


def test_a_telemetry_setting_of_the_users_own_is_kept() -> None:
    code = (
        "import os; os.environ['DEEPEVAL_TELEMETRY_OPT_OUT'] = 'NO'; import brittle.deepeval; "
        "print(os.environ['DEEPEVAL_TELEMETRY_OPT_OUT'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPEVAL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "NO", done.stderr
    # importing brittle changes no environment variable; the default is set where brittle
    # imports deepeval (brittle.deepeval, loaded by a judged check), before deepeval loads
    code = (
        "import os, sys, brittle; print(os.environ.get('DEEPEVAL_TELEMETRY_OPT_OUT')); "
        "import brittle.deepeval; print(os.environ.get('DEEPEVAL_TELEMETRY_OPT_OUT'), "
        "'deepeval' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split("\n")[:2] == ["None", "YES False"], done.stderr


def test_public_names() -> None:
    import brittle.deepeval as interop

    assert sorted(interop.__all__) == sorted(
        [
            "METRICS",
            "ConsistencyMetric",
            "GatewayJudge",
            "dataset_from_cases",
            "deepeval_check",
            "export_goldens",
            "golden_from_case",
            "goldens_from_dataset",
            "import_goldens",
        ]
    )
    for name in interop.__all__:
        assert getattr(interop, name) is not None


def test_a_judges_cost_comes_from_the_price_table_when_its_calls_report_none() -> None:
    """The fast transport reports tokens, not cost: the judge prices them (gateway/pricing.py)."""
    from brittle.gateway.pricing import table_price

    class Counted:
        async def complete(self, request: CallRequest) -> CallResult:
            return CallResult(text="fine", prompt_tokens=1000, completion_tokens=100)

    judge = GatewayJudge("openai/gpt-4o-mini", gateway=Gateway(Counted(), concurrency=1))
    assert judge.generate("hello") == "fine" and judge.generate("again") == "fine"
    price = table_price("gpt-4o-mini")
    assert price is not None and judge.cost == pytest.approx(2 * price.cost(1000, 100))
    unknown = GatewayJudge("openai/scripted", gateway=Gateway(Counted(), concurrency=1))
    unknown.generate("hello")
    assert unknown.cost is None  # no price known and none reported
