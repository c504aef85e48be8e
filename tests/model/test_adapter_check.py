"""The adapter check on the embedded model: a freshly initialised peft LoRA (``lora_B = 0``, so
it changes nothing) gets the "is it applied?" warning, and the committed demo adapter, which
was trained, changes answers and gets none. A few cases each (sample 6), through a session as
the plugin runs one (that the warning reaches every report is tested on the stub server:
tests/integration/test_adapter_check.py)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from brittle.checks import label
from brittle.options import Options
from brittle.run.remarks import eval_notes
from brittle.run.session import BrittleSession
from brittle.run.verdicts import check_gate
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, build_spec
from brittle.spec.systems import ModelSystem, Template
from tests.support import ROOT

SAMPLE = 6
TEMPLATE = ROOT / "fixtures" / "prompts" / "sentiment_finetuned.txt"
DEMO_ADAPTER = ROOT / "fixtures" / "adapters" / "sentiment-lora"


def _fresh_lora(folder: Path) -> None:
    """peft's own initialisation of a rank-4 LoRA on SmolLM2's shapes: lora_B is zero, so the
    adapter adds nothing to any layer (the weights of an uninitialised skeleton do not enter
    the saved adapter)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from brittle.local.models import load_base_model

    config = load_base_model("smollm2").model.config
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    skeleton.to_empty(device="cpu")
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft calls an API that transformers 5 deprecated
        warnings.simplefilter("ignore", FutureWarning)
        peft_model = get_peft_model(skeleton, lora)
    # peft initialises A randomly and B at zero: B @ A = 0 whatever A
    assert all(not param.any() for name, param in peft_model.named_parameters() if "lora_B" in name)
    peft_model.save_pretrained(folder)


@pytest.mark.model
@pytest.mark.slow  # about 1 CPU minute: torch, the model, two adapters and the base
def test_a_fresh_lora_warns_and_the_trained_demo_adapter_does_not(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh-lora"
    _fresh_lora(fresh)
    cases = [
        Case(id=row["id"], inputs={"text": row["text"]}, expected=row["expected"])
        for row in map(json.loads, (ROOT / "fixtures/sentiment/golden.jsonl").open())
    ][:SAMPLE]
    params = {"temperature": 0, "max_tokens": 4}
    template = Template.from_file(TEMPLATE)
    spec = build_spec(
        Eval(
            name="adapters",
            golden=cases,
            systems=[
                ModelSystem("fresh", f"local/smollm2+{fresh}", template, params=params),
                ModelSystem("demo", f"local/smollm2+{DEMO_ADAPTER}", template, params=params),
            ],
            checks=[label(["positive", "negative"])],
            gates=["adapter_changed >= 0.1"],
        ),
        source=tmp_path / "adapters.eval.yaml",
    )
    session = BrittleSession(Options(report_dir=None, cache="off", progress=False))
    state = session.state(spec)
    for name in ("fresh", "demo"):
        session.run_system(spec, name)
    checks = {name: run.metrics["adapter_check"] for name, run in state.run.systems.items()}

    assert checks["fresh"]["base"] == "local/smollm2"
    assert (checks["fresh"]["sample"], checks["fresh"]["changed"]) == (SAMPLE, 0)
    warning = f"the adapter changed 0 of {SAMPLE} answers: is it applied?"
    assert checks["fresh"]["warning"].startswith(warning)
    assert checks["demo"]["sample"] == SAMPLE and checks["demo"]["changed"] > 0
    assert checks["demo"]["warning"] is None
    notes = eval_notes(state)
    assert [note for note in notes if "adapter" in note] == [
        f"system 'fresh': {checks['fresh']['warning']}"
    ]
    gate = spec.gates[0]  # adapter_changed >= 0.1
    assert check_gate(session, spec, "fresh", gate).passed is False
    assert check_gate(session, spec, "demo", gate).passed is True
