"""The shard folder of a pytest-xdist run (:mod:`brittle.run.xdist`): who runs which shard, and
a waiting gate that fails clearly, instead of hanging, when a worker stopped."""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from brittle import _plugin
from brittle._errors import EvalRunError
from brittle.run.xdist import (
    SHARDS_KEY,
    EvalShard,
    Worker,
    eval_folder,
    shards_root,
    wait_for_shards,
)


def _spec(tmp_path: Path) -> Any:
    return SimpleNamespace(name="demo", source=tmp_path / "demo.eval.yaml")


def test_the_plugin_names_the_folder_under_the_key_the_workers_read() -> None:
    assert _plugin._SHARDS_KEY == SHARDS_KEY  # the plugin keeps a copy: no engine at import


def test_each_worker_takes_its_own_shard(tmp_path: Path) -> None:
    worker = Worker.from_workerinput(
        {SHARDS_KEY: str(tmp_path), "workerid": "gw2", "workercount": 4, "testrunuid": "x"}
    )
    assert worker is not None and (worker.shard.k, worker.shard.n) == (3, 4)
    assert not worker.writes_reports  # gw0 writes the run's report
    assert Worker.from_workerinput({"workerid": "gw0", "workercount": 2}) is None
    assert shards_root("abc").name == "brittle-xdist-abc"


def test_the_shards_come_back_in_shard_order(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    folder = eval_folder(tmp_path, spec)
    folder.mkdir(parents=True)
    for k in (2, 1):
        (folder / f"shard-{k}.pickle").write_bytes(pickle.dumps(EvalShard(k)))
    worker = Worker(tmp_path, 0, 2, "gw0")
    assert [shard.k for shard in wait_for_shards(worker, spec)] == [1, 2]


def test_a_crashed_worker_fails_the_wait_naming_its_shard(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    folder = eval_folder(tmp_path, spec)
    folder.mkdir(parents=True)
    (folder / "shard-1.pickle").write_bytes(pickle.dumps(EvalShard(1)))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs
    alive = {"pid": gone.pid, "host": socket.gethostname(), "name": "gw1"}
    (tmp_path / "worker-2.alive").write_text(json.dumps(alive))
    with pytest.raises(EvalRunError) as caught:
        wait_for_shards(Worker(tmp_path, 0, 2, "gw0"), spec)
    message = str(caught.value)
    assert "shard 2/2 of eval 'demo' never arrived: worker gw1" in message
    assert f"(process {gone.pid}) stopped before it finished" in message


def test_a_worker_that_never_starts_fails_the_wait_after_a_while(tmp_path: Path) -> None:
    with pytest.raises(EvalRunError, match=r"shard 1/2 .* worker gw0 did not start its shards"):
        wait_for_shards(Worker(tmp_path, 0, 2, "gw0"), _spec(tmp_path), start_s=0.2)
