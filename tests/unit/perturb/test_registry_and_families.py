"""The perturbation registry and the built-in families: deterministic, validated, effective."""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brittle.perturb as perturb
from brittle._errors import ConfigError
from brittle.perturb import (
    Perturbation,
    families,
    generate_variants,
    make_perturbation,
    register_family,
    rng_for,
)
from brittle.perturb import registry as registry_module
from brittle.perturb.contractions import CONTRACTIONS
from brittle.perturb.distractor import DISTRACTORS
from brittle.perturb.prefix import PREFIXES
from brittle.perturb.typo import QWERTY_NEIGHBOURS
from brittle.spec.cases import Case

TEXT = (
    "I don't know what it is. Can you tell me how many apples Sarah has if she buys 12 more? "
    "It is a long list, and I am tired of counting them by hand."
)
BUILT_IN = ["casing", "contractions", "distractor", "prefix", "punctuation", "typo", "whitespace"]

# Every family with parameters under which different seeds give different variants.
RANDOMISED: dict[str, dict[str, object]] = {
    "typo": {},
    "casing": {},
    "whitespace": {},
    "punctuation": {},
    "contractions": {},
    "prefix": {},
    "distractor": {"position": "random"},
}


def variants_of(
    family: str,
    params: dict[str, object] | None = None,
    *,
    text: str = TEXT,
    n: int = 4,
    seed: int = 7,
    name: str | None = None,
) -> tuple[list[str], int]:
    case = Case(id="case-17", inputs={"question": text})
    variants, no_ops = generate_variants(
        case,
        make_perturbation(family, params),
        name=name or family,
        n=n,
        seed=seed,
        fields=["question"],
        suite="robust",
    )
    return [variant.inputs["question"] for variant in variants], no_ops


def apply(family: str, params: dict[str, object] | None, text: str, seed: int = 0) -> str:
    return make_perturbation(family, params).apply(text, rng_for(seed, "case", family, 1))


def osa_distance(a: str, b: str) -> int:
    """Edit distance where swapping two adjacent letters counts as one edit (as a typo does)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


# --- the public surface --------------------------------------------------------------------------


def test_exported_names_are_the_documented_api() -> None:
    assert sorted(perturb.__all__) == sorted(
        [
            "Perturbation",
            "families",
            "generate_template_variants",
            "generate_variants",
            "make_perturbation",
            "register_family",
            "rng_for",
        ]
    )


def test_built_in_families_are_registered_sorted() -> None:
    # the word-, instruction-, format- and paraphrase-level families: tests/test_perturb_families.py
    later = ["format", "instruction", "numbers", "paraphrase", "placement", "preamble"]
    later += ["regression", "reorder", "synonyms"]
    assert families() == sorted(BUILT_IN + later)


@pytest.mark.parametrize("family", BUILT_IN)
def test_every_family_is_a_perturbation_with_json_params_that_rebuild_it(family: str) -> None:
    built = make_perturbation(family)
    assert isinstance(built, Perturbation)
    assert built.family == family
    assert built.target == "input"
    recorded = json.loads(json.dumps(built.params))
    rebuilt = make_perturbation(family, recorded)
    assert rebuilt.params == built.params
    assert rebuilt.apply(TEXT, rng_for(1, "c", "p", 1)) == built.apply(
        TEXT, rng_for(1, "c", "p", 1)
    )


def test_params_are_fully_resolved_with_defaults() -> None:
    assert make_perturbation("typo").params == {
        "rate": 0.05,
        "ops": ["substitute", "delete", "insert", "transpose"],
    }
    assert make_perturbation("casing").params == {"mode": "random", "rate": 0.1}
    assert make_perturbation("casing", {"mode": "lower"}).params == {"mode": "lower"}
    assert make_perturbation("whitespace").params == {"rate": 0.1}
    assert make_perturbation("punctuation").params == {"rate": 0.1}
    assert make_perturbation("contractions").params == {"direction": "both"}
    assert make_perturbation("prefix").params == {
        "kind": "politeness",
        "prefixes": list(PREFIXES["politeness"]),
    }
    assert make_perturbation("distractor").params == {
        "position": "end",
        "sentences": list(DISTRACTORS),
    }
    # Lists are canonicalised, so the same perturbation is always recorded the same way.
    assert make_perturbation("typo", {"ops": ["insert", "delete", "insert"]}).params["ops"] == [
        "delete",
        "insert",
    ]


# --- determinism ---------------------------------------------------------------------------------


def test_rng_for_is_fixed_across_runs_and_machines() -> None:
    # Regression guard: computed once. If this changes, every committed baseline's variants change.
    assert rng_for(0, "c", "p", 1).random() == 0.5013002608648232
    assert rng_for(0, "c", "p", 1).random() == rng_for(0, "c", "p", 1).random()


@pytest.mark.parametrize(
    "other",
    [
        (1, "c", "p", 1, 0),
        (0, "d", "p", 1, 0),
        (0, "c", "q", 1, 0),
        (0, "c", "p", 2, 0),
        (0, "c", "p", 1, 1),
    ],
)
def test_rng_for_depends_on_every_argument(other: tuple[int, str, str, int, int]) -> None:
    assert rng_for(*other).random() != rng_for(0, "c", "p", 1, 0).random()


def test_rng_for_encoding_is_unambiguous() -> None:
    assert rng_for(0, "a b", "c", 1).random() != rng_for(0, "a", "b c", 1).random()


@pytest.mark.parametrize("family", sorted(RANDOMISED))
def test_same_seed_same_variants_other_seed_other_variants(family: str) -> None:
    params = RANDOMISED[family]
    first, _ = variants_of(family, params, seed=7)
    assert first
    assert variants_of(family, params, seed=7)[0] == first
    assert variants_of(family, params, seed=8)[0] != first


@pytest.mark.parametrize("family", sorted(RANDOMISED))
def test_variants_really_change_the_text_and_are_distinct(family: str) -> None:
    texts, no_ops = variants_of(family, RANDOMISED[family], n=4)
    assert len(texts) + no_ops == 4
    assert len(texts) >= 3
    assert TEXT not in texts
    assert len(set(texts)) == len(texts)


def test_a_slot_does_not_change_when_more_variants_are_asked_for() -> None:
    few, _ = variants_of("typo", n=2)
    many, _ = variants_of("typo", n=6)
    assert many[:2] == few


def test_the_perturbation_name_not_only_the_family_seeds_the_variants() -> None:
    assert variants_of("typo", name="typo-a")[0] != variants_of("typo", name="typo-b")[0]


# --- generate_variants ---------------------------------------------------------------------------


def test_variant_ids_metadata_and_untouched_fields() -> None:
    case = Case(
        id="case-17",
        inputs={"question": TEXT, "context": "Apples are red.", "count": 3},
        expected="15",
    )
    variants, no_ops = generate_variants(
        case,
        make_perturbation("typo", {"rate": 0.2}),
        name="typo-heavy",
        n=3,
        seed=1,
        fields=["question", "context", "count", "missing"],
        suite="robust",
    )
    assert no_ops == 0
    assert [v.id for v in variants] == [
        "case-17[typo-heavy#1]",
        "case-17[typo-heavy#2]",
        "case-17[typo-heavy#3]",
    ]
    for index, variant in enumerate(variants, start=1):
        assert variant.case_id == "case-17"
        assert variant.suite == "robust"
        assert variant.family == "typo"
        assert variant.perturbation == "typo-heavy"
        assert variant.index == index
        assert variant.inputs["count"] == 3
        assert "missing" not in variant.inputs
        assert variant.inputs["question"] != TEXT
        assert variant.inputs["context"] != "Apples are red."
        assert variant.edits["fields"] == ["question", "context"]


def test_a_family_that_does_not_apply_yields_no_ops_not_variants() -> None:
    texts, no_ops = variants_of("contractions", text="Nothing to shorten here.", n=5)
    assert texts == []
    assert no_ops == 5


def test_duplicates_are_not_emitted_and_count_as_no_ops() -> None:
    texts, no_ops = variants_of("casing", {"mode": "upper"}, n=3)
    assert texts == [TEXT.upper()]
    assert no_ops == 2
    case = Case(id="case-3", inputs={"question": "x"})
    variants, no_ops = generate_variants(
        case,
        make_perturbation("prefix", {"prefixes": ["A: ", "B: "]}),
        name="prefix",
        n=4,
        seed=0,
        fields=["question"],
        suite="s",
    )
    assert sorted(v.inputs["question"] for v in variants) == ["A: x", "B: x"]
    assert [v.id for v in variants] == ["case-3[prefix#1]", "case-3[prefix#2]"]
    assert no_ops == 2


def test_no_string_field_means_every_slot_is_a_no_op() -> None:
    case = Case(id="c", inputs={"count": 3})
    perturbation = make_perturbation("typo")
    assert generate_variants(
        case, perturbation, name="typo", n=3, seed=0, fields=["count", "nope"], suite="s"
    ) == ([], 3)
    assert generate_variants(
        case, perturbation, name="typo", n=0, seed=0, fields=["count"], suite="s"
    ) == ([], 0)


@pytest.mark.parametrize(("n", "fields"), [(-1, ["q"]), (True, ["q"]), (2.0, ["q"]), (2, "q")])
def test_generate_variants_rejects_bad_n_and_a_bare_field_name(n: object, fields: object) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        generate_variants(
            Case(id="c", inputs={"q": "text"}),
            make_perturbation("typo"),
            name="typo",
            n=n,  # type: ignore[arg-type]
            seed=0,
            fields=fields,  # type: ignore[arg-type]
            suite="s",
        )


# --- typo ----------------------------------------------------------------------------------------


def test_qwerty_neighbours_follow_the_keyboard() -> None:
    assert QWERTY_NEIGHBOURS["g"] == "bfhtvy"
    assert QWERTY_NEIGHBOURS["a"] == "qswz"
    assert QWERTY_NEIGHBOURS["p"] == "lo"
    assert QWERTY_NEIGHBOURS["m"] == "jkn"
    assert len(QWERTY_NEIGHBOURS) == 26
    for key, near in QWERTY_NEIGHBOURS.items():
        assert all(key in QWERTY_NEIGHBOURS[other] for other in near)


def _prose(rng: random.Random, words: int) -> str:
    vocabulary = TEXT.replace(".", "").replace("?", "").replace(",", "").split()
    return " ".join(rng.choice(vocabulary) for _ in range(words)) + "."


@pytest.mark.parametrize("rate", [0.05, 0.2])
def test_typo_edit_rate_matches_the_configured_rate(rate: float) -> None:
    sample = random.Random(3)
    edits = letters = 0
    for index in range(12):
        text = _prose(sample, 60)
        typo = apply("typo", {"rate": rate}, text, seed=index)
        edits += osa_distance(text, typo)
        letters += sum(char.isalpha() for char in text)
    assert edits / letters == pytest.approx(rate, rel=0.1)


def test_typo_touches_at_least_one_letter_of_a_short_text() -> None:
    for seed in range(20):
        assert apply("typo", {"rate": 0.01}, "Hello world", seed=seed) != "Hello world"


def test_typo_ops_each_do_what_they_say() -> None:
    text = "Several quick brown foxes jumped over the lazy sleeping dogs today"
    for seed in range(10):
        swapped = apply("typo", {"ops": ["transpose"], "rate": 0.2}, text, seed)
        assert swapped != text and sorted(swapped.lower()) == sorted(text.lower())
        assert len(apply("typo", {"ops": ["delete"]}, text, seed)) < len(text)
        assert len(apply("typo", {"ops": ["insert"]}, text, seed)) > len(text)
        substituted = apply("typo", {"ops": ["substitute"], "rate": 0.2}, text, seed)
        assert len(substituted) == len(text)
        for old, new in zip(text, substituted, strict=True):
            if old != new:
                assert new.lower() in QWERTY_NEIGHBOURS[old.lower()]
                assert new.isupper() == old.isupper()


def test_typo_keeps_the_case_of_replaced_letters() -> None:
    for seed in range(10):
        out = apply("typo", {"ops": ["substitute", "insert"], "rate": 0.5}, "HELLO WORLD", seed)
        assert out == out.upper()


def test_typo_never_deletes_a_word_away() -> None:
    for seed in range(10):
        out = apply("typo", {"ops": ["delete"], "rate": 1.0}, "a bb ccc I", seed)
        assert len(out.split()) == 4


def test_typo_on_text_without_letters_is_a_no_op() -> None:
    texts, no_ops = variants_of("typo", text="12 + 30 = 42?", n=3)
    assert (texts, no_ops) == ([], 3)


@settings(max_examples=150, deadline=None)
@given(text=st.text(), seed=st.integers(min_value=0, max_value=2**32), rate=st.floats(0.01, 1.0))
def test_typo_only_ever_touches_letters(text: str, seed: int, rate: float) -> None:
    out = apply("typo", {"rate": rate}, text, seed)
    assert [c for c in out if not c.isalpha()] == [c for c in text if not c.isalpha()]
    letters = sum(c.isalpha() for c in text)
    assert abs(sum(c.isalpha() for c in out) - letters) <= letters


# --- casing --------------------------------------------------------------------------------------


def test_casing_modes() -> None:
    text = "don't SHOUT at the NASA team, 2 times"
    assert apply("casing", {"mode": "lower"}, text) == text.lower()
    assert apply("casing", {"mode": "upper"}, text) == text.upper()
    assert apply("casing", {"mode": "title"}, text) == "Don't Shout At The Nasa Team, 2 Times"
    assert apply("casing", {"mode": "title"}, "the 2nd o'clock") == "The 2nd O'clock"


def test_casing_random_flips_about_rate_of_the_letters() -> None:
    text = _prose(random.Random(5), 200)
    flipped = apply("casing", {"rate": 0.2}, text, seed=1)
    assert flipped.lower() == text.lower()
    share = sum(a != b for a, b in zip(text, flipped, strict=True)) / sum(map(str.isalpha, text))
    assert share == pytest.approx(0.2, rel=0.15)


def test_casing_lower_on_lower_case_text_is_a_no_op() -> None:
    assert variants_of("casing", {"mode": "lower"}, text="already lower", n=3) == ([], 3)


@settings(deadline=None)
@given(text=st.text(), seed=st.integers(min_value=0, max_value=1000))
def test_casing_lower_is_idempotent_and_random_keeps_the_letters(text: str, seed: int) -> None:
    once = apply("casing", {"mode": "lower"}, text)
    assert apply("casing", {"mode": "lower"}, once) == once
    flipped = apply("casing", {"mode": "random", "rate": 0.5}, text, seed)
    assert len(flipped) == len(text)
    assert all(a == b or a.swapcase() == b for a, b in zip(text, flipped, strict=True))


# --- whitespace and punctuation ------------------------------------------------------------------


def test_whitespace_changes_only_spacing() -> None:
    for seed in range(20):
        out = apply("whitespace", {"rate": 0.3}, TEXT, seed)
        assert out != TEXT
        assert out.split() == TEXT.split()
    assert apply("whitespace", None, "   ") == "   "


def test_whitespace_uses_spaces_tabs_newlines_and_the_ends() -> None:
    outputs = [apply("whitespace", {"rate": 1.0}, "a b c", seed) for seed in range(30)]
    joined = "".join(outputs)
    assert "\t" in joined and "\n" in joined and "  " in joined
    assert any(out.startswith(" ") for out in outputs)
    assert any(out[-1].isspace() for out in outputs)


def _bare_words(text: str) -> list[str]:
    return [re.sub(r"[.,!?;:]+$", "", token) for token in text.split()]


def test_punctuation_changes_marks_only_at_word_ends() -> None:
    text = "Pi is 3.14, e.g. in math. Is it true? Yes!! It is U.S.A based"
    kinds: set[str] = set()
    for seed in range(40):
        out = apply("punctuation", {"rate": 0.3}, text, seed)
        assert out != text
        assert _bare_words(out) == _bare_words(text)
        assert "3.14" in out
        for before, after in zip(text.split(), out.split(), strict=True):
            if len(after) < len(before):
                kinds.add("remove")
            elif len(after) > len(before):
                kinds.add("insert" if before[-1].isalnum() else "duplicate")
    assert kinds == {"insert", "duplicate", "remove"}


@settings(deadline=None)
@given(text=st.text(alphabet="ab1 .,!?\n", max_size=40), seed=st.integers(0, 1000))
def test_punctuation_keeps_every_word(text: str, seed: int) -> None:
    out = apply("punctuation", {"rate": 0.5}, text, seed)
    assert _bare_words(out) == _bare_words(text)


# --- contractions --------------------------------------------------------------------------------


def test_contractions_expand_and_contract_keeping_case() -> None:
    text = "I am sure it is fine. Do not worry, I'm here. DON'T panic. Cannot stop."
    assert apply("contractions", {"direction": "expand"}, text, seed=3).count("I am") >= 1
    expanded = {apply("contractions", {"direction": "expand"}, text, s) for s in range(30)}
    assert "I am sure it is fine. Do not worry, I am here. DO NOT panic. Cannot stop." in expanded
    contracted = {apply("contractions", {"direction": "contract"}, text, s) for s in range(30)}
    assert "I'm sure it's fine. Don't worry, I'm here. DON'T panic. Can't stop." in contracted


def test_contractions_both_mixes_directions() -> None:
    outputs = {apply("contractions", None, "I am here and I don't mind.", s) for s in range(30)}
    assert outputs == {
        "I'm here and I don't mind.",
        "I am here and I do not mind.",
        "I'm here and I do not mind.",
    }


def test_contractions_respect_grammar_guards() -> None:
    # "what it is." cannot become "what it's."; "it's been" means "it has been".
    for seed in range(10):
        assert apply("contractions", None, "I know what it is.", seed) == "I know what it is."
        assert apply("contractions", None, "It's been fun, he'd gone.", seed) == (
            "It's been fun, he'd gone."
        )
    assert apply("contractions", {"direction": "expand"}, "It’s fine", 0) == "It is fine"


def test_contraction_table_is_unambiguous() -> None:
    assert len({c.lower() for c, _ in CONTRACTIONS}) == len(CONTRACTIONS)
    assert len({e.lower() for _, e in CONTRACTIONS}) == len(CONTRACTIONS)


# --- prefix and distractor -----------------------------------------------------------------------


def test_prefix_prepends_a_prefix_of_the_kind() -> None:
    for kind in ("politeness", "filler"):
        texts, _ = variants_of("prefix", {"kind": kind}, n=5)
        for text in texts:
            assert text.endswith(TEXT)
            assert text[: -len(TEXT)] in PREFIXES[kind]
    texts, no_ops = variants_of("prefix", {"prefixes": ["Yo! "]}, n=2)
    assert (texts, no_ops) == (["Yo! " + TEXT], 1)


def test_distractor_positions() -> None:
    text = "First sentence. Second one? Third!"
    end = apply("distractor", None, text)
    assert end.startswith(text + " ")
    assert end[len(text) + 1 :] in DISTRACTORS
    start = apply("distractor", {"position": "start", "sentences": ["Odd fact."]}, text)
    assert start == "Odd fact. " + text
    middles = {
        apply("distractor", {"position": "random", "sentences": ["X."]}, text, s) for s in range(40)
    }
    assert middles == {
        "X. First sentence. Second one? Third!",
        "First sentence. X. Second one? Third!",
        "First sentence. Second one? X. Third!",
        "First sentence. Second one? Third! X.",
    }


# --- errors --------------------------------------------------------------------------------------


def test_unknown_family_suggests_the_closest_and_lists_all() -> None:
    with pytest.raises(ConfigError) as error:
        make_perturbation("typos", where="suites/robust.yaml:12")
    message = str(error.value)
    assert "suites/robust.yaml:12" in message
    assert "unknown perturbation family 'typos'" in message
    assert "did you mean 'typo'?" in message
    assert all(name in message for name in BUILT_IN)


def test_unknown_parameter_names_the_family_and_the_allowed_parameters() -> None:
    with pytest.raises(ConfigError) as error:
        make_perturbation("typo", {"rat": 0.1}, where="suites/robust.yaml:3")
    message = str(error.value)
    assert "'typo' has no parameter 'rat'" in message
    assert "did you mean 'rate'?" in message
    assert "rate, ops" in message
    assert registry_module.parameter_names("typo") == ["rate", "ops"]
    assert message.startswith("suites/robust.yaml:3")


@pytest.mark.parametrize(
    ("family", "params", "expected"),
    [
        ("typo", {"rate": 0}, "0 < rate <= 1"),
        ("typo", {"rate": 1.5}, "0 < rate <= 1"),
        ("typo", {"rate": "high"}, "0 < rate <= 1"),
        ("typo", {"rate": True}, "0 < rate <= 1"),
        ("typo", {"rate": float("nan")}, "0 < rate <= 1"),
        ("typo", {"ops": ["swap"]}, "substitute, delete, insert, transpose"),
        ("typo", {"ops": "delete"}, "non-empty list"),
        ("typo", {"ops": []}, "non-empty list"),
        ("casing", {"mode": "sentence"}, "lower, upper, title, random"),
        ("casing", {"rate": 0.2, "mode": "lower"}, "only applies to mode 'random'"),
        ("whitespace", {"rate": -0.1}, "0 < rate <= 1"),
        ("punctuation", {"rate": 2}, "0 < rate <= 1"),
        ("contractions", {"direction": "sideways"}, "expand, contract, both"),
        ("prefix", {"kind": "rude"}, "politeness, filler"),
        ("prefix", {"prefixes": "Hi! "}, "non-empty list of strings"),
        ("distractor", {"position": "middle"}, "start, end, random"),
        ("distractor", {"sentences": ["ok", " "]}, "non-blank string"),
    ],
)
def test_bad_parameter_values_say_what_is_allowed(
    family: str, params: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make_perturbation(family, params, where="suite.yaml")
    message = str(error.value)
    assert expected in message
    assert f"'{family}'" in message
    assert error.value.key == next(iter(params))
    assert error.value.where == "suite.yaml"
    assert "fix:" in message


def test_params_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        make_perturbation("typo", [0.1])  # type: ignore[arg-type]


# --- registering new families --------------------------------------------------------------------


class _Reverse:
    family = "reverse"
    target = "input"

    def __init__(self, *, times: int) -> None:
        self.params = {"times": times}

    def apply(self, text: str, rng: random.Random) -> str:
        return text[::-1]


def test_a_registered_family_is_built_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_FACTORIES", dict(registry_module._FACTORIES))

    @register_family("reverse")
    def reverse(*, times: int) -> Perturbation:
        return _Reverse(times=times)

    assert "reverse" in families()
    assert make_perturbation("reverse", {"times": 1}).apply("abc", random.Random()) == "cba"
    with pytest.raises(ConfigError, match="needs the parameter"):
        make_perturbation("reverse")
    with pytest.raises(ValueError, match="already registered"):
        register_family("typo")(reverse)
    with pytest.raises(ValueError, match="lower-case"):
        register_family("Bad Name")
