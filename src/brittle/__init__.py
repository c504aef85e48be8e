"""brittle: test LLM systems the way pytest tests code.

Golden-set checks and perturbation (brittleness) suites run against systems under test - prompts
on a model, fine-tuned models, Python pipelines - and gates compare each run with a committed
baseline. See the README for the tour.

Importing this package is cheap: the errors are defined here, every other public name is
imported from its module on first use (PEP 562), because the pytest plugin and the command line
import brittle in every run, whether or not it holds an eval. Importing brittle changes no
environment variable; it installs an import hook so that litellm answers ``local/`` model
strings once anyone imports it (:func:`brittle.local.register_on_litellm_import`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from brittle._errors import (
    AuthenticationFailed,
    BaselineError,
    BrittleError,
    CacheError,
    ConfigError,
    EvalRunError,
    ModelError,
    ReplayMissError,
)
from brittle._registry import lazy_attributes
from brittle.local import register_on_litellm_import

if TYPE_CHECKING:
    from brittle.gateway import CallRequest, CallResult, Gateway, Transport
    from brittle.spec.cases import Case, Variant
    from brittle.spec.eval import Eval, EvalSpec, evaluation, load_eval_file
    from brittle.spec.systems import CallableSystem, ModelSystem, PromptSystem, System, Template
    from brittle.stats.gates import Gate, Verdict

register_on_litellm_import()  # litellm answers local/ model strings once anyone imports it

__version__ = "0.1.0"

__all__ = [
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

#: public name -> the module that defines it, imported on first use
_LAZY = {
    "CallRequest": "brittle.gateway",
    "CallResult": "brittle.gateway",
    "Gateway": "brittle.gateway",
    "Transport": "brittle.gateway",
    "Case": "brittle.spec.cases",
    "Variant": "brittle.spec.cases",
    "Eval": "brittle.spec.eval",
    "EvalSpec": "brittle.spec.eval",
    "evaluation": "brittle.spec.eval",
    "load_eval_file": "brittle.spec.eval",
    "CallableSystem": "brittle.spec.systems",
    "ModelSystem": "brittle.spec.systems",
    "PromptSystem": "brittle.spec.systems",
    "System": "brittle.spec.systems",
    "Template": "brittle.spec.systems",
    "Gate": "brittle.stats.gates",
    "Verdict": "brittle.stats.gates",
}
#: subpackages and modules reachable as attributes (``brittle.checks.exact``) without an import
#: of their own, as when ``import brittle`` imported them all
_SUBMODULES = frozenset(
    {"checks", "deepeval", "gateway", "local", "perturb", "redact", "search", "spec", "stats"}
)


_public = lazy_attributes(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    """Import a public name, or a subpackage, on first use."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    return _public(name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
