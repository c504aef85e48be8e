"""The command-line defects of issue 17, each as a user met it: ``brittle finetune --help``,
``brittle search`` against an HTTP model (event-loop noise, exit status), ``brittle run`` on a
Python eval, and ``brittle paraphrase --api-base``. Models are the local stub server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brittle.cli import main
from tests.support.stubproject import FAKE_KEY, StubThread, env, start_in_thread, write_eval

LOOP_NOISE = ("Event loop is closed", "Task was destroyed", "was never awaited", "Traceback")


@pytest.fixture
def stub() -> Iterator[StubThread]:
    with start_in_thread(latency=0.0) as server:
        yield server


def test_finetune_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["finetune", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "usage: brittle finetune" in out
    for option in ("--train", "--template", "--out", "--seed", "--rank", "--epochs"):
        assert option in out


def test_run_on_a_python_eval_says_to_use_pytest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "test_routing.py"
    path.write_text("import brittle\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "malformed" not in err and "YAML" not in err.split("fix:")[0].replace("yaml", "")
    assert "Python evals (@brittle.evaluation) run with pytest" in err
    assert f"run 'pytest {path}'" in err


def _search(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brittle.cli", "search", "stubbed.eval.yaml", "--budget", "4"],
        cwd=folder,
        env=env(),
        capture_output=True,
        text=True,
        timeout=240,
    )


def _litellm_eval(folder: Path, base_url: str, systems: dict[str, str]) -> None:
    path = write_eval(folder, base_url, cases=3, systems=systems, extra="retries: 0\n")
    # through litellm (whose logging worker binds to the event loop), and the case's text
    # first, so that typos in it change the stub's answer
    text = path.read_text().replace("    params:", "    transport: litellm\n    params:")
    path.write_text(text.replace('"{{ hint }} is what I think of {{ text }}"', '"{{ text }}"'))


def test_search_over_http_is_quiet_and_fails_on_errors(stub: StubThread, tmp_path: Path) -> None:
    systems = {"echo": "openai/stub", "fast": "openai/stub", "down": "openai/fail-500"}
    _litellm_eval(tmp_path, stub.base_url, systems)
    text = (tmp_path / "stubbed.eval.yaml").read_text()
    (tmp_path / "stubbed.eval.yaml").write_text(  # 'fast' on the fast transport
        text.replace(
            "  fast:\n    kind: prompt\n    model: openai/stub\n    transport: litellm\n",
            "  fast:\n    kind: prompt\n    model: openai/stub\n",
        )
    )
    done = _search(tmp_path)
    assert "search: " in done.stdout and "3 system(s) x 3 case(s)" in done.stdout
    assert stub.stats.requests >= 9  # every original of every system was called
    for noise in LOOP_NOISE:
        assert noise not in done.stderr and noise not in done.stdout, done.stderr[-2000:]
    # 'down' errored on each original: nothing to search, said, and the exit status says so
    assert done.stdout.count("skipped: search on case") == 3
    assert "3 case(s) skipped: the system errored on the original" in done.stdout
    assert done.returncode == 1, done.stdout + done.stderr


class _Embedder:
    """Scores each pair by shared words: the real sentence model is for tests/model/."""

    def cosine(self, a: list[str], b: list[str]) -> list[float]:
        pairs = zip(a, b, strict=True)
        return [len(set(x.split()) & set(y.split())) / max(len(x.split()), 1) for x, y in pairs]


def test_paraphrase_calls_the_server_named_by_api_base(
    stub: StubThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import brittle.search.paraphrase

    monkeypatch.setattr(brittle.search.paraphrase, "get_embedder", _Embedder)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    golden = tmp_path / "golden.jsonl"
    rows: list[dict[str, Any]] = [
        {"id": "a", "text": "the printer is on fire", "expected": "bug"},
        {"id": "b", "text": "refund my last invoice", "expected": "billing"},
    ]
    golden.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "paraphrases.jsonl"
    argv = ["paraphrase", str(golden), "--out", str(out), "--model", "openai/stub", "--n", "1"]
    argv += ["--api-base", stub.base_url]
    monkeypatch.setenv("ROUTING_KEY", FAKE_KEY)
    assert main([*argv, "--api-key-env", "ROUTING_KEY"]) == 0, capsys.readouterr()
    assert stub.stats.requests == 2
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert all("api_base" not in line and FAKE_KEY not in json.dumps(line) for line in lines)
    assert "2 wanted, 0 kept, 2 generated, 0 failed" in capsys.readouterr().out
    # a key variable that is not set is one clear error, before any call
    assert main([*argv, "--api-key-env", "NO_SUCH_KEY_VAR", "--out", str(tmp_path / "x")]) == 2
    assert "NO_SUCH_KEY_VAR is not set" in capsys.readouterr().err
    assert stub.stats.requests == 2
