"""Project-wide pytest settings for brittle's repository (evals/ and tests/).

Every model call here runs offline: the embedded model, a local server on 127.0.0.1, or a
deterministic test system. These defaults make the libraries behave accordingly (no price-list
download, no telemetry, no hub look-ups); a value already set in the environment wins.
"""

from __future__ import annotations

import os

for name, value in (
    ("HF_HUB_OFFLINE", "1"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
    ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
    ("DEEPEVAL_TELEMETRY_OPT_OUT", "YES"),
    ("DEEPEVAL_DISABLE_DOTENV", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(name, value)
