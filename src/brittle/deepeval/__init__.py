"""deepeval interop: deepeval's judged metrics as brittle checks, brittle's consistency as a
deepeval metric, and golden sets both ways.

- the ``deepeval`` check (:func:`deepeval_check`; ``- deepeval: {metric: geval, ...}`` in an eval
  file) runs any deepeval metric on the outputs of a system under test, with a judge that is any
  litellm model string; judge calls go through brittle's :class:`~brittle.gateway.Gateway`.
  ``judge_repeats`` runs the judge k times per output and reports its self-agreement;
- :class:`ConsistencyMetric` is a deepeval ``BaseMetric`` that runs a brittle system on
  perturbations of a test case's input and scores how often the answer stays the same;
- :func:`goldens_from_dataset`, :func:`dataset_from_cases`, :func:`export_goldens` and
  :func:`import_goldens` move golden sets between brittle and deepeval.

deepeval is an optional extra: ``pip install 'brittle[deepeval]'``. Without it this package still
imports (and ``METRICS`` lists the short names), but the check and the names below raise an error
that names that command (:mod:`brittle.deepeval._require`).

Importing this package is cheap and sets ``DEEPEVAL_TELEMETRY_OPT_OUT=YES`` unless the variable
is already set (a user who turned telemetry on keeps it on). deepeval itself is imported only when
a judged check is built or one of the deepeval-facing names below is first used.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from brittle._registry import lazy_attributes

os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")

from brittle.deepeval.check import METRICS, deepeval_check

if TYPE_CHECKING:
    from brittle.deepeval.consistency import ConsistencyMetric
    from brittle.deepeval.goldens import (
        dataset_from_cases,
        export_goldens,
        golden_from_case,
        goldens_from_dataset,
        import_goldens,
    )
    from brittle.deepeval.judge import GatewayJudge

__all__ = [
    "METRICS",
    "ConsistencyMetric",
    "GatewayJudge",
    "dataset_from_cases",
    "deepeval_check",
    "export_goldens",
    "golden_from_case",
    "goldens_from_dataset",
    "import_goldens",
]

_LAZY = {
    "ConsistencyMetric": "brittle.deepeval.consistency",
    "GatewayJudge": "brittle.deepeval.judge",
    "dataset_from_cases": "brittle.deepeval.goldens",
    "export_goldens": "brittle.deepeval.goldens",
    "golden_from_case": "brittle.deepeval.goldens",
    "goldens_from_dataset": "brittle.deepeval.goldens",
    "import_goldens": "brittle.deepeval.goldens",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
