"""brittle: test LLM systems the way pytest tests code.

Golden-set checks and perturbation (brittleness) suites run against systems under test - prompts
on a model, fine-tuned models, Python pipelines - and gates compare each run with a committed
baseline. See the README for the tour.
"""

from __future__ import annotations

from brittle._errors import BaselineError, BrittleError, ConfigError, EvalRunError, ModelError
from brittle.gateway import CallRequest, CallResult, Gateway, Transport
from brittle.local import register_on_litellm_import
from brittle.spec.cases import Case, Variant
from brittle.spec.eval import Eval, EvalSpec, evaluation, load_eval_file
from brittle.spec.systems import CallableSystem, ModelSystem, PromptSystem, System
from brittle.stats.gates import Gate, Verdict

register_on_litellm_import()  # litellm answers local/ model strings once anyone imports it

__version__ = "0.1.0"

__all__ = [
    "BaselineError",
    "BrittleError",
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
    "System",
    "Transport",
    "Variant",
    "Verdict",
    "__version__",
    "evaluation",
    "load_eval_file",
]
