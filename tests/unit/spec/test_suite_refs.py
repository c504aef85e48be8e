"""An eval's ``suites:`` entries: suite files, suites shipped with brittle (``builtin:NAME``) and
suites written inline, each mistake one ConfigError naming the eval file, line and key."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from brittle._errors import ConfigError
from brittle.run.fingerprints import suite_definition, suite_fingerprints
from brittle.spec import suite_refs
from brittle.spec.eval import Eval, build_spec, load_eval_file
from brittle.spec.suite_refs import builtin_names, builtin_path, load_builtin
from brittle.spec.suites import load_suite

REPO = Path(__file__).resolve().parents[3]
HELPER = "brittle_suite_refs_helper"
GOLDEN = """\
{"id": "c1", "text": "The battery lasts all week and charging is quick", "expected": "positive"}
{"id": "c2", "text": "The screen cracked after two days of normal use", "expected": "negative"}
{"id": "c3", "text": "Friendly staff and the room was spotless", "expected": "positive"}
"""

# line numbers matter: tests assert them
EVAL = """\
name: demo
golden: ../data/golden.jsonl
perturb_fields: [text]
systems:
  rules:
    kind: python
    callable: brittle_suite_refs_helper:answer
checks:
  - label: {choices: [positive, negative]}
suites:
  - builtin:typos
  - name: polite
    seed: 3
    perturbations:
      - family: prefix
        n: 2
        params: {kind: politeness}
gates:
  - flip_rate <= 0.5
"""


@pytest.fixture(autouse=True)
def helper_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / f"{HELPER}.py").write_text("def answer(inputs):\n    return 'positive'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop(HELPER, None)


def project(tmp_path: Path, eval_text: str = EVAL, *, folder: str = "evals") -> Path:
    path = tmp_path / folder / "demo.eval.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent.parent / "data").mkdir(exist_ok=True)
    (path.parent.parent / "data" / "golden.jsonl").write_text(GOLDEN)
    path.write_text(eval_text)
    return path


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"test setup: {old!r} not in the text"
    return text.replace(old, new, 1)


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_eval_file(path)
    return str(info.value)


# --- the builtin suites ------------------------------------------------------------------------


def test_the_builtin_suites_are_shipped_and_perturb_every_case() -> None:
    assert builtin_names() == ["chatter", "formats", "instructions", "noise", "typos", "wording"]
    for name in builtin_names():
        suite = load_builtin(name)
        assert suite.name == name and suite.source == f"builtin:{name}"
        assert suite.sample == 1.0, f"builtin:{name} samples: sampling is the user's choice"
        assert "sample" not in yaml.safe_load(builtin_path(name).read_text())
        assert suite.entries and suite.description


@pytest.mark.parametrize("name", ["typos", "noise", "chatter", "instructions"])
def test_a_builtin_suite_is_the_repositorys_demo_suite_without_its_sample(name: str) -> None:
    """The demo's suites/ keep their sample (a short demo); otherwise they are the builtins."""
    builtin = load_builtin(name)
    demo = load_suite(REPO / "suites" / f"{name}.yaml")
    assert demo.sample < 1.0
    assert (
        f"keep the demo under 5 minutes; builtin:{name} perturbs every case"
        in (REPO / "suites" / f"{name}.yaml").read_text()
    )
    assert builtin.spec()["perturbations"] == demo.spec()["perturbations"]
    assert builtin.seed == demo.seed


def test_the_builtin_formats_suite_varies_no_task_specific_choices() -> None:
    (entry,) = load_builtin("formats").entries
    assert entry.perturbation.params == {"vary": ["separators", "spacing", "casing", "quoting"]}


def test_an_eval_with_a_builtin_and_an_inline_suite_loads(tmp_path: Path) -> None:
    spec = load_eval_file(project(tmp_path))
    typos, polite = spec.suites
    assert (typos.name, typos.source, typos.seed, typos.sample) == ("typos", "builtin:typos", 1, 1)
    assert [(e.name, e.family, e.n) for e in typos.entries] == [
        ("typo-light", "typo", 1),
        ("typo-heavy", "typo", 1),
    ]
    assert (polite.name, polite.seed, polite.sample) == ("polite", 3, 1.0)
    assert [(e.name, e.family, e.n) for e in polite.entries] == [("prefix", "prefix", 2)]
    case = spec.cases[0]
    variants, _ = polite.variants(case, fields=spec.perturb_fields)
    assert len(variants) == 2 and all(v.suite == "polite" for v in variants)
    assert all(v.inputs["text"].endswith(case.inputs["text"]) for v in variants)
    assert all(v.inputs["text"] != case.inputs["text"] for v in variants)


def test_the_python_eval_takes_builtin_names_and_inline_mappings(tmp_path: Path) -> None:
    path = project(tmp_path)
    yaml_spec = load_eval_file(path)
    python_spec = build_spec(
        Eval(
            golden=str(tmp_path / "data" / "golden.jsonl"),
            systems=list(yaml_spec.systems),
            checks=["exact"],
            suites=[
                "builtin:typos",
                {
                    "name": "polite",
                    "seed": 3,
                    "perturbations": [
                        {"family": "prefix", "n": 2, "params": {"kind": "politeness"}}
                    ],
                },
            ],
        ),
        source=tmp_path / "test_demo.py",
    )
    assert [s.name for s in python_spec.suites] == ["typos", "polite"]
    assert suite_fingerprints(python_spec) == suite_fingerprints(yaml_spec)


# --- fingerprints: a builtin suite's is its content --------------------------------------------


def test_suite_fingerprints_do_not_depend_on_where_or_how_the_eval_is_written(
    tmp_path: Path,
) -> None:
    first = suite_fingerprints(load_eval_file(project(tmp_path / "a")))
    # another folder, the inline suite in flow style and its keys in another order
    moved = edit(
        EVAL,
        """  - name: polite
    seed: 3
    perturbations:
      - family: prefix
        n: 2
        params: {kind: politeness}
""",
        "  - {perturbations: [{params: {kind: politeness}, n: 2, family: prefix}], seed: 3,"
        " name: polite}  # inline\n",
    )
    second = suite_fingerprints(load_eval_file(project(tmp_path / "b", moved, folder="x/y")))
    assert first == second
    # pinned: a change to builtin:typos is a suite change in every user's baseline; change this
    # hash only together with a release note
    assert first["typos"] == {"hash": "281873eef2b2", "seed": 1, "families": ["typo"]}


def test_a_copied_builtin_suite_keeps_the_fingerprint_and_a_changed_one_does_not(
    tmp_path: Path,
) -> None:
    """`brittle suites typos > suites/typos.yaml` keeps baselines paired until it is edited."""
    (tmp_path / "suites").mkdir()
    copy = tmp_path / "suites" / "typos.yaml"
    copy.write_text(builtin_path("typos").read_text())
    builtin = suite_fingerprints(load_eval_file(project(tmp_path)))["typos"]
    copied = edit(EVAL, "builtin:typos", "../suites/typos.yaml")
    assert suite_fingerprints(load_eval_file(project(tmp_path, copied)))["typos"] == builtin
    copy.write_text(builtin_path("typos").read_text().replace("seed: 1", "seed: 1\nsample: 0.5"))
    changed = suite_fingerprints(load_eval_file(project(tmp_path, copied)))["typos"]
    assert changed["hash"] != builtin["hash"]


def test_a_changed_builtin_suite_changes_its_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path)
    before = suite_fingerprints(load_eval_file(path))
    shipped = tmp_path / "shipped"
    shutil.copytree(builtin_path("typos").parent, shipped)
    typos = shipped / "typos.yaml"
    typos.write_text(typos.read_text().replace("rate: 0.08", "rate: 0.1"))
    monkeypatch.setattr(suite_refs, "_FOLDER", shipped)  # as a brittle upgrade would
    after = suite_fingerprints(load_eval_file(path))
    assert after["typos"]["hash"] != before["typos"]["hash"]
    assert after["polite"] == before["polite"]
    definition = suite_definition(load_eval_file(path).suites[0], load_eval_file(path))
    assert definition["perturbations"][1]["params"]["rate"] == 0.1


# --- mistakes ----------------------------------------------------------------------------------


def test_an_unknown_builtin_suite_says_which_was_meant(tmp_path: Path) -> None:
    path = project(tmp_path, edit(EVAL, "builtin:typos", "builtin:typo"))
    message = load_error(path)
    assert message.startswith(f"{path}:11: 'suites[0]': unknown builtin suite 'typo'"), message
    assert "did you mean 'typos'?" in message
    assert "chatter, formats, instructions, noise, typos, wording" in message


def test_a_mistyped_key_of_an_inline_suite_names_the_eval_file_and_line(tmp_path: Path) -> None:
    path = project(tmp_path, edit(EVAL, "        n: 2\n", "        count: 2\n"))
    message = load_error(path)
    assert message.startswith(f"{path}:16: unknown key 'count' in 'suites[1].perturbations[0]'"), (
        message
    )
    assert "allowed keys: family, label_guard, min_similarity, n, name, params" in message
    path = project(tmp_path, edit(EVAL, "    seed: 3\n", "    sed: 3\n"))
    message = load_error(path)
    assert message.startswith(f"{path}:13: unknown key 'sed' in 'suites[1]'"), message
    assert "did you mean 'seed'?" in message


def test_a_bad_value_in_an_inline_suite_names_its_key_and_line(tmp_path: Path) -> None:
    path = project(tmp_path, edit(EVAL, "        n: 2\n", "        n: two\n"))
    message = load_error(path)
    assert message.startswith(f"{path}:16: 'suites[1].perturbations[0].n': "), message
    path = project(tmp_path, edit(EVAL, "    seed: 3\n", "    seed: 3\n    sample: 2\n"))
    message = load_error(path)
    assert message.startswith(f"{path}:14: 'suites[1].sample': 'sample' must be a share"), message
    path = project(tmp_path, edit(EVAL, "family: prefix", "family: prefixx"))
    message = load_error(path)
    assert message.startswith(f"{path}:15: "), message
    assert "did you mean 'prefix'?" in message


def test_an_inline_suite_needs_a_name_and_perturbations(tmp_path: Path) -> None:
    path = project(tmp_path, edit(EVAL, "  - name: polite\n    seed: 3\n", "  - seed: 3\n"))
    message = load_error(path)
    assert message.startswith(f"{path}:12: 'suites[1].name': an inline suite needs a 'name'")
    assert "add e.g. 'name: polite'" in message
    text = EVAL.split("    perturbations:")[0] + "gates: []\n"
    path = project(tmp_path, text)
    message = load_error(path)
    assert message.startswith(f"{path}:12: 'suites[1].perturbations': suite needs a non-empty")


def test_overriding_a_builtin_suites_sample_says_to_copy_it(tmp_path: Path) -> None:
    path = project(
        tmp_path, edit(EVAL, "  - builtin:typos\n", "  - {suite: builtin:typos, sample: 0.3}\n")
    )
    message = load_error(path)
    assert message.startswith(f"{path}:11: 'suites[0].suite': a suite entry cannot override")
    assert "`brittle suites NAME > suites/NAME.yaml`" in message


def test_two_suites_of_one_name_are_refused(tmp_path: Path) -> None:
    path = project(tmp_path, edit(EVAL, "name: polite", "name: typos"))
    message = load_error(path)
    assert message.startswith(
        f"{path}:12: 'suites[1]': two suites are named 'typos' (builtin:typos and {path})"
    ), message


def test_a_suite_entry_that_is_neither_path_nor_mapping(tmp_path: Path) -> None:
    path = project(tmp_path, edit(EVAL, "  - builtin:typos\n", "  - 7\n"))
    message = load_error(path)
    assert message.startswith(f"{path}:11: 'suites[0]': each suite must be a file path"), message
    assert "builtin:typos" in message
    with pytest.raises(ConfigError, match="suites"):
        Eval(golden="g.jsonl", systems=[], checks=[], suites=[7])  # type: ignore[list-item]


def test_an_inline_suites_files_are_relative_to_the_eval_file(tmp_path: Path) -> None:
    found = {"id": "c2", "field": "text", "text": "The screen craked after two days of use"}
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "found.jsonl").write_text(json.dumps(found) + "\n")
    text = edit(
        EVAL,
        "gates:",
        "  - name: found\n    perturbations:\n"
        "      - {family: regression, params: {file: ../data/found.jsonl}}\ngates:",
    )
    spec = load_eval_file(project(tmp_path, text))
    found_suite = spec.suites[2]
    variants, _ = found_suite.variants(spec.cases[1], fields=spec.perturb_fields)
    assert [v.inputs["text"] for v in variants] == [found["text"]]
