"""Replica counters per system (issue 16): each replica's calls, failures and times taken out,
counted by the calling system's fingerprint (:meth:`Replicas.used_by`, what run.json and
summary.json carry under the system), and summed over a merged run's shards."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from brittle.gateway.replicas import Replicas, merge_counters
from tests.unit.gateway.test_replicas import A, B, Clock, Fake, _request


def test_counters_are_kept_per_calling_system() -> None:
    fake = Fake(dead={A})
    replicas = Replicas(clock=Clock())

    async def main() -> None:
        for fingerprint, calls in (("one", 3), ("two", 2)):
            for _ in range(calls):
                request = replace(_request(A, B), fingerprint=fingerprint)
                found = replicas.of(request)
                assert found is not None
                assert (await found.complete(fake, request)).text == B

    asyncio.run(main())
    # "one" found A dead (taken out at its first call), so A got no call of "two"
    assert replicas.used_by("one") == [
        {"url": A, "calls": 1, "failures": 1, "taken_out": 1},
        {"url": B, "calls": 3, "failures": 0, "taken_out": 0},
    ]
    assert replicas.used_by("two") == [
        {"url": A, "calls": 0, "failures": 0, "taken_out": 0},
        {"url": B, "calls": 2, "failures": 0, "taken_out": 0},
    ]
    assert replicas.used_by("three") is None
    # the set's own counters (the terminal's line) are the systems' together
    assert [r.calls for r in replicas._sets[("api_base", (A, B))].replicas] == [1, 5]


def test_a_credential_in_a_url_is_not_reported() -> None:
    url = "http://user:secret@a:1/v1"
    replicas = Replicas(clock=Clock())
    request = replace(_request(url, B), fingerprint="f")
    found = replicas.of(request)
    assert found is not None
    asyncio.run(found.complete(Fake(), request))
    assert "secret" not in str(replicas.used_by("f"))


def test_merged_counters_are_the_shards_sums_per_url() -> None:
    shard = [
        {"url": A, "calls": 2, "failures": 1, "taken_out": 1},
        {"url": B, "calls": 5, "failures": 0, "taken_out": 0},
    ]
    other = [
        {"url": B, "calls": 4, "failures": 1, "taken_out": 0},
        {"url": A, "calls": 1, "failures": 1, "taken_out": 1},
    ]
    assert merge_counters([shard, None, other]) == [
        {"url": A, "calls": 3, "failures": 2, "taken_out": 2},
        {"url": B, "calls": 9, "failures": 1, "taken_out": 0},
    ]
    assert merge_counters([None, None]) is None
