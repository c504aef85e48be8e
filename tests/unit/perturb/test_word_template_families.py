"""The word-, instruction- and format-level families, the meaning filter and the embedding cache.

Each family: the same seed gives the same variants; variants keep the meaning of a fixed sample
of golden reviews and prompt templates (cosine similarity with the real embedding model above
the threshold the demo suites use); a family that does not apply is a counted no-op, never a
duplicate variant; bad parameters are clear errors.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brittle import CallableSystem, PromptSystem, checks
from brittle._errors import ConfigError
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.perturb import generate_template_variants, generate_variants, make_perturbation
from brittle.perturb.synonyms import lexicon
from brittle.perturb.template import TAG, Blocks, instruction_of
from brittle.run.engine import build_rows
from brittle.search.embeddings import DiskStore, Embedder, get_embedder
from brittle.search.meaning import Candidate, MeaningRule, introduced_label, judge
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, build_spec
from brittle.spec.suites import suite_from_mapping
from tests.support import ROOT
from tests.support.sessions import run_eval

PROMPTS = ROOT / "fixtures" / "prompts"
TEMPLATES = {
    path.stem: path.read_text(encoding="utf-8") for path in sorted(PROMPTS.glob("sentiment_*.txt"))
}
SAMPLE = [
    json.loads(line)["text"]
    for line in (ROOT / "fixtures" / "sentiment" / "golden.jsonl").read_text().splitlines()[:24]
]
TEXT = (
    "The battery lasts 12 hours and charging is quick. The staff were friendly, and the "
    "price was very good; I bought two of them. It arrived early."
)

INPUT_FAMILIES: dict[str, dict[str, Any]] = {
    "synonyms": {},
    "reorder": {},
    "numbers": {},
}
TEMPLATE_FAMILIES: dict[str, dict[str, Any]] = {
    "instruction": {},
    "preamble": {},
    "format": {"choices": ["positive", "negative"]},
}
MIN_SIMILARITY = {"synonyms": 0.7, "reorder": 0.8, "numbers": 0.9}
"""Thresholds met on the whole fixed sample (the demo suites use 0.7 for templates)."""


def variants_of(
    family: str,
    params: dict[str, Any] | None = None,
    *,
    text: str = TEXT,
    n: int = 3,
    seed: int = 7,
    case_id: str = "case-1",
) -> tuple[list[str], int]:
    case = Case(id=case_id, inputs={"text": text})
    variants, noops = generate_variants(
        case,
        make_perturbation(family, params),
        name=family,
        n=n,
        seed=seed,
        fields=["text"],
        suite="s",
    )
    return [v.inputs["text"] for v in variants], noops


def template_variants_of(
    family: str, params: dict[str, Any] | None, template: str | None, *, n: int = 2, seed: int = 7
) -> tuple[list[str], int]:
    case = Case(id="case-1", inputs={"text": "Great product."})
    variants, noops = generate_template_variants(
        case, make_perturbation(family, params), template, name=family, n=n, seed=seed, suite="s"
    )
    return [v.template or "" for v in variants], noops


# --- same seed, same variants ---------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(INPUT_FAMILIES))
def test_input_families_are_deterministic(family: str) -> None:
    first = variants_of(family, INPUT_FAMILIES[family])
    assert first == variants_of(family, INPUT_FAMILIES[family])
    assert first[0], "the family applies to the sample text"
    assert all(variant != TEXT for variant in first[0])
    assert len(set(first[0])) == len(first[0])
    others = {tuple(variants_of(family, INPUT_FAMILIES[family], seed=s)[0]) for s in range(6)}
    assert len(others) > 1, "different seeds give different variants"


@pytest.mark.parametrize("family", sorted(TEMPLATE_FAMILIES))
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_families_are_deterministic(family: str, name: str) -> None:
    params = TEMPLATE_FAMILIES[family]
    first = template_variants_of(family, params, TEMPLATES[name])
    assert first == template_variants_of(family, params, TEMPLATES[name])
    for variant in first[0]:
        assert variant != TEMPLATES[name]


def test_template_variants_are_the_same_for_every_case() -> None:
    """Rewrite #k is measured over the whole golden set, like one FormatSpread format."""
    perturbation = make_perturbation("format", {"choices": ["positive", "negative"]})
    template = TEMPLATES["sentiment_zero_shot"]
    texts = {
        tuple(
            v.template
            for v in generate_template_variants(
                Case(case_id, {"text": "x"}),
                perturbation,
                template,
                name="f",
                n=2,
                seed=1,
                suite="s",
            )[0]
        )
        for case_id in ("a", "b", "c")
    }
    assert len(texts) == 1


@pytest.mark.parametrize(
    ("family", "target"),
    [
        ("synonyms", "input"),
        ("reorder", "input"),
        ("numbers", "input"),
        ("instruction", "instruction"),
        ("preamble", "instruction"),
        ("placement", "instruction"),
        ("format", "format"),
    ],
)
def test_params_are_json_and_rebuild_the_family(family: str, target: str) -> None:
    built = make_perturbation(family)
    assert built.family == family and built.target == target
    recorded = json.loads(json.dumps(built.params))
    rebuilt = make_perturbation(family, recorded)
    assert rebuilt.params == built.params
    sample = TEMPLATES["sentiment_few_shot"] if target != "input" else TEXT
    assert rebuilt.apply(sample, random.Random(3)) == built.apply(sample, random.Random(3))


# --- what each family does -------------------------------------------------------------------


def test_synonyms_keep_case_and_fix_articles() -> None:
    rng = random.Random(0)
    perturbation = make_perturbation("synonyms", {"rate": 1.0})
    out = perturbation.apply("An excellent item. GREAT value!", rng)
    assert out.split()[0] in ("A", "An")
    assert out.startswith("A superb") or out.startswith("An ")
    assert "GREAT" not in out and ("EXCELLENT" in out or "SUPERB" in out)
    # the lexicon is symmetric and every word belongs to one group
    table = lexicon()
    for word, alternatives in table.items():
        for other in alternatives:
            assert word in table[other]


def test_numbers_convert_only_safe_numbers() -> None:
    perturbation = make_perturbation("numbers", {"direction": "to_words"})
    text = "I paid $12 for 2.5 kg at 10:30, 50% off, 3-4 days, my 2nd try; 7 stars."
    out = perturbation.apply(text, random.Random(1))
    assert "$12" in out and "2.5" in out and "10:30" in out and "50%" in out
    assert "3-4" in out and "2nd" in out
    assert "seven stars" in out
    back = make_perturbation("numbers", {"direction": "to_digits"})
    assert back.apply("It took twenty-one days and two weeks.", random.Random(0)) in {
        "It took 21 days and two weeks.",
        "It took twenty-one days and 2 weeks.",
        "It took 21 days and 2 weeks.",
    }
    # "one" is as often a pronoun: never turned into a digit
    assert back.apply("The best one I had.", random.Random(0)) == "The best one I had."


def test_reorder_keeps_dependent_sentences_with_their_predecessor() -> None:
    perturbation = make_perturbation("reorder", {"scope": "sentences"})
    text = "The lid broke. It was cheap though. The colour is lovely."
    for seed in range(10):
        out = perturbation.apply(text, random.Random(seed))
        assert "The lid broke. It was cheap though." in out
        assert sorted(out.split()) == sorted(text.split())
    clauses = make_perturbation("reorder", {"scope": "clauses"})
    out = clauses.apply("The room was clean, and the staff were very kind.", random.Random(0))
    assert out == "The staff were very kind, and the room was clean."
    # contrast is not symmetric: never swapped across "but"
    same = "The room was clean, but the staff were rude."
    assert clauses.apply(same, random.Random(0)) == same


def test_instruction_families_protect_jinja_tags() -> None:
    for name, template in TEMPLATES.items():
        tags = TAG.findall(template)
        for family, params in {**TEMPLATE_FAMILIES, "placement": {}}.items():
            for seed in range(8):
                out = make_perturbation(family, params).apply(template, random.Random(seed))
                assert TAG.findall(out) == tags, (name, family, seed)
                rendered = jinja2.Template(out).render(text="REVIEW TEXT")
                assert "REVIEW TEXT" in rendered


def test_instruction_rewordings_from_the_suite_replace_the_instruction() -> None:
    template = TEMPLATES["sentiment_zero_shot"]
    rewording = "Decide whether the review below is positive or negative."
    out = make_perturbation("instruction", {"rewordings": [rewording]}).apply(
        template, random.Random(0)
    )
    assert instruction_of(out) == rewording
    assert out.endswith("Answer with exactly one word: positive or negative.\n")


def test_placement_moves_the_instruction_but_keeps_the_answer_cue_last() -> None:
    few_shot = TEMPLATES["sentiment_few_shot"]
    out = make_perturbation("placement", {"position": "after"}).apply(few_shot, random.Random(0))
    assert out.rstrip().endswith("Sentiment:")
    assert out.index("Review: {{ text }}") < out.index("Classify the sentiment")
    zero_shot = TEMPLATES["sentiment_zero_shot"]
    moved = make_perturbation("placement", {"position": "swap"}).apply(zero_shot, random.Random(0))
    assert moved.startswith("Review: {{ text }}")
    back = make_perturbation("placement", {"position": "before"}).apply(moved, random.Random(0))
    assert Blocks.parse(back).instruction_index == 0


def test_format_changes_every_field_consistently() -> None:
    perturbation = make_perturbation("format", {"vary": ["separators", "casing"]})
    template = TEMPLATES["sentiment_few_shot"]
    for seed in range(10):
        out = perturbation.apply(template, random.Random(seed))
        heads = {
            line.split("{{")[0].split(" ", 1)[0]
            for line in out.splitlines()
            if line.lower().startswith(("review", "sentiment"))
        }
        review_forms = {h for h in heads if h.lower().startswith("review")}
        assert len(review_forms) == 1, out  # one casing and separator for every Review field
    enumerated = make_perturbation(
        "format", {"vary": ["enumeration"], "choices": ["positive", "negative"]}
    )
    outs = {enumerated.apply(TEMPLATES["sentiment_zero_shot"], random.Random(s)) for s in range(30)}
    assert any("(A) positive (B) negative" in out for out in outs)
    assert any("[positive, negative]" in out for out in outs)


# --- no-ops are counted, never emitted as duplicates ----------------------------------------


@pytest.mark.parametrize(
    ("family", "params", "text"),
    [
        ("synonyms", {}, "Zorblax qwv frmp."),
        ("numbers", {}, "No numbers here at all."),
        ("numbers", {"direction": "to_digits"}, "I paid 12 pounds."),
        ("reorder", {}, "A single short sentence."),
        ("reorder", {"scope": "clauses"}, "First one. Second one."),
    ],
)
def test_input_family_that_does_not_apply_is_a_noop(
    family: str, params: dict[str, Any], text: str
) -> None:
    assert variants_of(family, params, text=text, n=3) == ([], 3)


def test_deterministic_rewrites_never_repeat() -> None:
    """numbers with one site has one rewrite; further slots are no-ops, not duplicates."""
    variants, noops = variants_of("numbers", {"direction": "to_words"}, text="I paid 12 pounds.")
    assert variants == ["I paid twelve pounds."]
    assert noops == 2


@pytest.mark.parametrize(
    ("family", "params", "template"),
    [
        ("instruction", {}, "Review: {{ text }}"),
        ("placement", {}, "Review: {{ text }}"),
        ("placement", {"position": "before"}, TEMPLATES["sentiment_zero_shot"]),
        ("format", {"vary": ["separators", "casing"]}, "{{ text }}"),
        ("preamble", {}, None),
        ("format", {}, None),
    ],
)
def test_template_family_that_does_not_apply_is_a_noop(
    family: str, params: dict[str, Any], template: str | None
) -> None:
    assert template_variants_of(family, params, template, n=2) == ([], 2)


def test_placement_gives_one_variant_then_noops() -> None:
    variants, noops = template_variants_of("placement", {}, TEMPLATES["sentiment_zero_shot"], n=3)
    assert len(variants) == 1 and noops == 2


# --- meaning is preserved on a fixed sample (real embedding model) -------------------------


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(get_embedder().model)


def similarities(embedder: Embedder, pairs: Sequence[tuple[str, str]]) -> list[float]:
    return [float(x) for x in embedder.cosine([a for a, _ in pairs], [b for _, b in pairs])]


@pytest.mark.parametrize("family", sorted(INPUT_FAMILIES))
def test_input_families_preserve_meaning(family: str, embedder: Embedder) -> None:
    pairs = []
    for index, text in enumerate(SAMPLE):
        variants, _ = variants_of(family, INPUT_FAMILIES[family], text=text, case_id=f"s{index}")
        pairs += [(text, variant) for variant in variants]
    assert len(pairs) >= 5, f"{family} applies to a fair part of the sample"
    scores = similarities(embedder, pairs)
    worst = min(scores)
    assert worst >= MIN_SIMILARITY[family], pairs[scores.index(worst)]


@pytest.mark.parametrize("family", sorted({**TEMPLATE_FAMILIES, "placement": {}}))
def test_template_families_preserve_meaning(family: str, embedder: Embedder) -> None:
    params = {**TEMPLATE_FAMILIES, "placement": {}}[family]
    pairs = []
    for template in TEMPLATES.values():
        for seed in range(3):
            variants, _ = template_variants_of(family, params, template, n=2, seed=seed)
            pairs += [(template, variant) for variant in variants]
    scores = similarities(embedder, pairs)
    assert min(scores) >= 0.7


def test_the_filter_drops_what_changes_meaning(embedder: Embedder) -> None:
    rule = MeaningRule(min_similarity=0.7, label_guard=("positive", "negative"))
    candidates = [
        Candidate("paraphrase", rule, (("The food was great.", "The meal was excellent."),)),
        Candidate("paraphrase", rule, (("The food was great.", "Bananas are yellow."),)),
        Candidate("paraphrase", rule, (("The food was great.", "The food was great, negative."),)),
        Candidate("typo", MeaningRule(), (("The food was great.", "Bananas are yellow."),)),
    ]
    judgement = judge(candidates, embedder)
    assert judgement.kept == [True, False, False, True]
    assert judgement.dropped == {"paraphrase": 2}
    assert judgement.similarity[3] is None
    assert introduced_label("ok", "Positive!", ["positive"]) == "positive"
    assert introduced_label("positive", "so positive", ["positive"]) is None


def test_no_text_is_embedded_twice_in_a_run(embedder: Embedder) -> None:
    counting = CountingModel(embedder.model)
    fresh = Embedder(counting)
    rule = MeaningRule(min_similarity=0.5)
    texts = [f"Sample sentence number {i}." for i in range(5)]
    candidates = [Candidate("f", rule, ((texts[0], t),)) for t in texts[1:]] * 3
    judge(candidates, fresh)
    judge(candidates, fresh)
    assert sorted(counting.seen) == sorted(texts)


# --- the engine: dropped and no-op counts, template rows per system ---------------------------


class CountingModel:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], **kwargs: Any) -> Any:
        self.seen.extend(texts)
        return self.model.encode(texts, **kwargs)


class LabelTransport:
    """A fake model: 'negative' when the prompt's review mentions 'broke', else 'positive';
    and 'unsure' when the prompt starts with a role line (so preamble variants flip)."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def complete(self, request: CallRequest) -> CallResult:
        prompt = request.messages[-1]["content"]
        self.prompts.append(prompt)
        if prompt.startswith("You are"):
            return CallResult(text="unsure")
        return CallResult(text="negative" if "broke" in prompt else "positive")


def _eval(suites: list[Any], systems: list[Any] | None = None) -> Any:
    cases = [
        Case("c1", {"text": "It broke after a day."}, expected="negative"),
        Case("c2", {"text": "Lovely and quick, and the staff were very helpful."}, "positive"),
        Case("c3", {"text": "Great value for 20 pounds."}, expected="positive"),
    ]
    prompt = PromptSystem(
        "prompt",
        "fake/model",
        "Classify the review as positive or negative.\n\nReview: {{ text }}\n\nAnswer:",
    )
    callable_system = CallableSystem("rules", lambda inputs: "positive")
    return build_spec(
        Eval(
            golden=cases,
            systems=systems or [prompt, callable_system],
            checks=[checks.label(["positive", "negative"])],
            suites=suites,
        ),
        source=Path("inline.eval.yaml"),
    )


def test_template_rows_run_per_system_and_count_noops() -> None:
    suite = suite_from_mapping(
        {
            "name": "instr",
            "perturbations": [
                {"family": "preamble", "n": 1, "params": {"kind": "role"}},
                {"family": "placement", "n": 1},
                {"family": "synonyms", "n": 1},
            ],
        }
    )
    spec = _eval([suite])
    transport = LabelTransport()
    run = run_eval(spec, gateway=Gateway(transport))
    prompt_run, rules_run = run.systems["prompt"], run.systems["rules"]
    assert prompt_run.template_variants == {"preamble": 3, "placement": 3}
    assert rules_run.template_noops == {"preamble": 3, "placement": 3}
    assert not rules_run.template_variants
    ids = prompt_run.columns["row_id"]
    assert "c1[preamble#1]" in ids and "c1[placement#1]" in ids
    assert not any("preamble" in row for row in rules_run.columns["row_id"])
    # the rewritten template is what the model saw, and what the results table shows
    index = ids.index("c2[preamble#1]")
    assert prompt_run.columns["prompt"][index].startswith("You are")
    assert prompt_run.metrics["families"]["preamble"]["flip_rate"] == pytest.approx(1.0)
    assert prompt_run.metrics["families"]["placement"]["flip_rate"] == 0.0
    # input-level variants are shared: both systems see the synonyms variant of c2
    assert "c2[synonyms#1]" in ids and "c2[synonyms#1]" in rules_run.columns["row_id"]


def test_build_rows_drops_and_counts_variants_under_the_threshold() -> None:
    suite = suite_from_mapping(
        {
            "name": "strict",
            "min_similarity": 0.999,
            "perturbations": [
                {"family": "synonyms", "n": 1},
                {"family": "casing", "n": 1, "params": {"mode": "upper"}, "min_similarity": None},
            ],
        }
    )
    spec = _eval([suite])
    dropped: dict[str, int] = {}
    _rows, noops, per_family = build_rows(spec, dropped=dropped)
    assert dropped.get("synonyms", 0) >= 1  # a synonym changes the embedding a little
    assert "casing" not in dropped  # the entry turned the filter off
    assert per_family["casing"] == 3
    assert per_family.get("synonyms", 0) + dropped["synonyms"] + noops.get("synonyms", 0) == 3


# --- suites and errors -------------------------------------------------------------------------


def test_suite_records_meaning_rules_and_targets() -> None:
    suite = suite_from_mapping(
        {
            "name": "s",
            "min_similarity": 0.8,
            "label_guard": ["positive", "negative"],
            "perturbations": [
                {"family": "format", "n": 2, "min_similarity": 0.6},
                {"family": "synonyms", "label_guard": []},
            ],
        }
    )
    spec = suite.spec()["perturbations"]
    assert spec[0]["target"] == "format"
    assert spec[0]["min_similarity"] == 0.6
    assert spec[0]["label_guard"] == ["positive", "negative"]
    assert "label_guard" not in spec[1] and spec[1]["min_similarity"] == 0.8


@pytest.mark.parametrize(
    ("family", "params", "message"),
    [
        ("synonym", {}, "did you mean 'synonyms'"),
        ("paraphrases", {}, "did you mean 'paraphrase'"),
        ("synonyms", {"rate": 0}, "rate must be a number with 0 < rate <= 1"),
        ("synonyms", {"words": 2}, "has no parameter 'words'"),
        ("reorder", {"scope": "words"}, "scope must be one of sentences, clauses, both"),
        ("numbers", {"direction": "up"}, "direction must be one of to_words, to_digits, both"),
        ("instruction", {"frames": ["shout"]}, "frames may only contain please"),
        ("instruction", {"rewordings": "just one"}, "rewordings must be a non-empty list"),
        ("preamble", {"kind": "rude"}, "kind must be one of politeness, role, both"),
        ("placement", {"position": "middle"}, "position must be one of before, after, swap"),
        ("format", {"vary": ["colour"]}, "vary may only contain separators"),
        ("format", {"choices": ["a"], "enumerations": ["roman"]}, "enumerations may only"),
        ("paraphrase", {}, "needs the parameter(s) file"),
        ("paraphrase", {"file": "missing.jsonl"}, "'missing.jsonl' does not exist"),
    ],
)
def test_bad_families_and_parameters_are_clear_errors(
    family: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        suite_from_mapping(
            {"name": "s", "perturbations": [{"family": family, "params": params}]},
            source="suites/bad.yaml",
        )
    assert message in str(info.value)
    assert "suites/bad.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"min_similarity": 2}, "'min_similarity' must be a cosine similarity"),
        ({"label_guard": "positive"}, "'label_guard' must be a list of label words"),
        ({"search": {"budget": 0}}, "'search.budget' must be a whole number >= 1"),
        ({"search": {"families": ["format"]}}, "search cannot compose"),
        ({"search": {"speed": 1}}, "unknown key 'speed' in 'search'"),
    ],
)
def test_bad_suite_keys_are_clear_errors(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        suite_from_mapping({"name": "s", "perturbations": ["typo"], **raw})


def test_search_settings_are_parsed() -> None:
    suite = suite_from_mapping(
        {"name": "s", "perturbations": ["typo"], "search": {"budget": 50, "families": ["typo"]}}
    )
    assert suite.search is not None
    assert (suite.search.budget, suite.search.families, suite.search.max_ops) == (50, ("typo",), 3)


# --- the on-disk embedding cache ----------------------------------------------------------------


class FakeModel:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        self.seen.extend(texts)
        return np.array([[len(t), 1.0, t.count("a")] for t in texts], dtype=np.float32)


def test_disk_store_keeps_vectors_across_runs(tmp_path: Path) -> None:
    first = FakeModel()
    Embedder(first, store=DiskStore(tmp_path)).embed(["alpha", "beta", "alpha"])
    assert first.seen == ["alpha", "beta"]
    second = FakeModel()
    again = Embedder(second, store=DiskStore(tmp_path))
    vectors = again.embed(["beta", "alpha", "gamma"])
    assert second.seen == ["gamma"]  # only the new text reaches the model
    assert vectors.shape == (3, 3)
    assert len(DiskStore(tmp_path)) == 3
    # another model's vectors never mix in
    assert DiskStore(tmp_path, model_name="other").get_many(["alpha"]) == {}


def test_an_uncased_embedder_embeds_case_and_spacing_variants_once() -> None:
    model = FakeModel()
    embedder = Embedder(model, uncased=True)
    vectors = embedder.embed(["The  Food was GOOD.", "the food was good.", " The food\twas good. "])
    assert model.seen == ["the food was good."]
    assert np.array_equal(vectors[0], vectors[2])
    assert Embedder().uncased  # the embedded all-MiniLM-L6-v2 lower-cases
    assert not Embedder(model).uncased


def test_unusable_disk_store_turns_itself_off(tmp_path: Path) -> None:
    (tmp_path / "vectors.sqlite").write_text("this is not a database")
    store = DiskStore(tmp_path)
    model = FakeModel()
    Embedder(model, store=store).embed(["alpha"])
    assert model.seen == ["alpha"]
    assert store.error is not None and "not usable" in store.error


def test_default_store_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brittle.search.embeddings import default_store

    monkeypatch.setenv("BRITTLE_EMBEDDINGS_DIR", str(tmp_path))
    store = default_store()
    assert store is not None and store.path == tmp_path / "vectors.sqlite"
    monkeypatch.setenv("BRITTLE_EMBEDDINGS_DIR", "off")
    assert default_store() is None


# --- hypothesis: every family keeps the Jinja2 tags of any template ----------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Classify the review as positive or negative.",
                "Review: {{ text }}",
                "Sentiment:",
                "Examples:",
                "Answer with one word: positive or negative.",
                "{% if text %}Input: {{ text }}{% endif %}",
                "{{ text }}",
            ]
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**16),
)
def test_template_families_never_break_a_template(lines: list[str], seed: int) -> None:
    template = "\n\n".join(lines)
    for family, params in {**TEMPLATE_FAMILIES, "placement": {}}.items():
        out = make_perturbation(family, params).apply(template, random.Random(seed))
        assert sorted(TAG.findall(out)) == sorted(TAG.findall(template))
        jinja2.Environment().parse(out)


def test_summary_shows_dropped_and_template_counts(tmp_path: Path) -> None:
    from brittle.report.terminal import summary_lines
    from brittle.run.session import BrittleSession, Options
    from brittle.run.verdicts import check_gate
    from tests.support.sessions import finish

    suite = suite_from_mapping(
        {
            "name": "mixed",
            "perturbations": [
                {"family": "preamble", "n": 1, "params": {"kind": "role"}},
                {"family": "synonyms", "n": 1, "min_similarity": 0.999},
            ],
        }
    )
    spec = _eval([suite])
    session = BrittleSession(Options(report_dir=tmp_path))
    session.state(spec).gateway = Gateway(LabelTransport())
    for system in spec.systems:
        check_gate(session, spec, system.name, None)
    finish(session)
    text = "\n".join(summary_lines(session))
    assert "dropped by the meaning filter: synonyms" in text
    assert "template variants 3 (preamble 3)" in text  # the prompt system
    assert "no-ops preamble 3" in text  # the callable system has no template
    summary = (session.written[0].parent / "summary.md").read_text()
    assert "variants dropped by the meaning filter: synonyms:" in summary
    assert "- rules: no-ops preamble 3" in summary
    record = json.loads((session.written[0].parent / "run.json").read_text())
    evaluation = record["evals"][0]
    assert evaluation["dropped_per_family"]["synonyms"] >= 1
    assert evaluation["systems"]["prompt"]["template_variants_per_family"] == {"preamble": 3}
