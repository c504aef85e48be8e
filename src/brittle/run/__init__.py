"""Running an eval: the engine (rows, systems called through the gateway, scoring), the session
(per-run state, baselines), the verdicts (the gate loop and its Holm family, shared by the pytest
plugin and ``brittle run``), and the run's provenance. Nothing here imports
:mod:`brittle.report`."""
