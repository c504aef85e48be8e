"""Loading the embedded model prints nothing: no "Loading weights" or GGUF dequantization bars,
no "Writing model shards", no tokenizer notice at the first decode; and transformers' own
settings (progress bars, logging verbosity) are as they were afterwards, for the user's code in
the same process.

Each load runs in a fresh process (the model is loaded once per process), with progress bars
left on (``HF_HUB_DISABLE_PROGRESS_BARS`` unset), as in a user's shell.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.model

LOAD = """
from transformers.utils import logging as hf_logging
from brittle.local.models import load_base_model
before = (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity())
loaded = load_base_model("smollm2")
ids = loaded.tokenizer("Hello", return_tensors="pt")
out = loaded.model.generate(**ids, max_new_tokens=2, do_sample=False)
loaded.tokenizer.decode(out[0], skip_special_tokens=True)
after = (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity())
print("settings", before == after, before[0])
"""


def _load(cache_dir: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    env.update(PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1")
    if cache_dir is not None:
        env["BRITTLE_CACHE_DIR"] = str(cache_dir)
    return subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=600
    )


def test_loading_the_saved_model_prints_nothing() -> None:
    done = _load(None)  # the dequantized copy other tests saved (or this load saves it)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "settings True True\n"
    assert done.stderr == ""


@pytest.mark.slow
def test_dequantizing_the_gguf_prints_nothing(tmp_path: Path) -> None:
    done = _load(tmp_path)  # an empty cache: the GGUF is dequantized and saved (~20 s)
    assert done.returncode == 0, done.stderr
    assert any((tmp_path / "models").iterdir())
    assert done.stdout == "settings True True\n"
    assert done.stderr == ""
