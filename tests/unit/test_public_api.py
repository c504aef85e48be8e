"""The public API of ``brittle``, and what importing it costs.

``brittle.__all__`` is guarded name by name: a name added or dropped is a decision, taken here.
pytest loads ``brittle._plugin`` in every run of an environment where brittle is installed, so
importing it must not load the heavy libraries (they cost seconds) nor change the environment.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest

import brittle
from brittle import _errors

PUBLIC = [
    "AuthenticationFailed",
    "BaselineError",
    "BrittleError",
    "CacheError",
    "CallRequest",
    "CallResult",
    "CallableSystem",
    "Case",
    "ConfigError",
    "Eval",
    "EvalRunError",
    "EvalSpec",
    "Gate",
    "Gateway",
    "ModelError",
    "ModelSystem",
    "PromptSystem",
    "ReplayMissError",
    "System",
    "Template",
    "Transport",
    "Variant",
    "Verdict",
    "__version__",
    "evaluation",
    "load_eval_file",
]
HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "pyarrow",
    "torch",
    "litellm",
    "sentence_transformers",
    "transformers",
    "deepeval",
    "aiohttp",  # the fast transport's client: loaded by the first call
    "jinja2",
    "jsonschema",
    "hypothesis",
)


def test_all_is_exactly_the_public_api() -> None:
    assert sorted(brittle.__all__) == sorted(PUBLIC)
    assert len(set(brittle.__all__)) == len(brittle.__all__)


def test_every_public_name_resolves_from_its_module() -> None:
    from brittle.gateway import Gateway
    from brittle.spec.eval import Eval
    from brittle.stats.gates import Verdict

    for name in brittle.__all__:
        assert getattr(brittle, name) is not None, name
    assert brittle.Gateway is Gateway and brittle.Eval is Eval and brittle.Verdict is Verdict
    assert set(dir(brittle)) >= set(brittle.__all__)


def test_every_error_of_brittle_is_exported() -> None:
    errors = {
        name
        for name, value in vars(_errors).items()
        if inspect.isclass(value)
        and issubclass(value, _errors.BrittleError)
        and value.__module__ == _errors.__name__
    }
    assert errors <= set(brittle.__all__), sorted(errors - set(brittle.__all__))
    for name in errors:
        assert getattr(brittle, name) is getattr(_errors, name)


def test_unknown_names_are_attribute_errors() -> None:
    assert not hasattr(brittle, "no_such_name")
    assert brittle.checks.__name__ == "brittle.checks"  # subpackages, as after a plain import


@pytest.mark.parametrize("module", ["brittle", "brittle._plugin"])
def test_importing_brittle_or_its_plugin_loads_nothing_heavy_and_changes_no_environment(
    module: str,
) -> None:
    """pytest imports the plugin in every run where brittle is installed: none of the libraries
    a run needs (pandas, pyarrow, scipy, litellm, torch, deepeval, the model libraries) is
    imported until a run needs it."""
    code = (
        "import json, os, sys\n"
        "before = dict(os.environ)\n"
        f"import {module}\n"
        "print(json.dumps({\n"
        f"    'heavy': [m for m in {HEAVY!r} if m in sys.modules],\n"
        "    'changed': sorted(k for k in {*before, *os.environ}\n"
        "                      if before.get(k) != os.environ.get(k)),\n"
        "}))\n"
    )
    # none of the defaults brittle knows is set beforehand, so a setdefault would show
    unset = (
        "LITELLM_LOCAL_MODEL_COST_MAP",
        "DEEPEVAL_TELEMETRY_OPT_OUT",
        "HF_HUB_DISABLE_PROGRESS_BARS",
        "TOKENIZERS_PARALLELISM",
        "OMP_WAIT_POLICY",
    )
    env = {k: v for k, v in os.environ.items() if k not in unset}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"heavy": [], "changed": []}
