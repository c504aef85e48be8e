"""Shared settings for brittle's own tests (offline defaults live in the root conftest.py)."""

from __future__ import annotations

# pandas registers its arrow extension types with pyarrow when it first reads or writes parquet;
# dropped after a run and imported again, it fails ("pandas.period already defined")
import pandas.core.arrays.arrow.extension_types  # noqa: F401

# brittle.stats._scipy imports these on first use, which may be inside an in-process run
import scipy.optimize
import scipy.special
import scipy.stats  # noqa: F401

# pytester's in-process runs (``pytester.runpytest``) drop the modules first imported inside
# them when they end, and numpy's extension modules cannot be loaded twice in one process. The
# plugin imports brittle's run and report modules (pandas, numpy, scipy, pyarrow) only once an
# eval is collected, so they are imported here, once, before any such run.
import brittle.report.artifacts
import brittle.report.ci
import brittle.report.terminal
import brittle.run.verdicts  # noqa: F401

pytest_plugins = ["pytester"]

# litellm (imported on first use by the litellm transport and the price look-ups) is imported
# here once: a first import inside a test that runs brittle in process left later pytester runs
# without brittle's plugin
from brittle.gateway.transport import configure_litellm  # noqa: E402

configure_litellm()
