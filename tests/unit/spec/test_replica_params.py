"""A system's ``api_base`` may list replicas (gateway/replicas.py): checked when the system is
defined, and the list's URLs masked like a single URL in the fingerprint's parameters."""

from __future__ import annotations

import pytest

from brittle._errors import ConfigError
from brittle.spec.systems import PromptSystem

A, B = "http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"


def test_a_list_of_urls_is_a_system_s_replicas() -> None:
    system = PromptSystem("served", "openai/m", "{{ text }}", params={"api_base": [A, B]})
    assert system.spec()["params"] == {"api_base": [A, B]}
    one = PromptSystem("served", "openai/m", "{{ text }}", params={"api_base": [A]})
    assert one.fingerprint() != system.fingerprint()  # another set of servers, another system


@pytest.mark.parametrize("bad", [[], [A, 3], [A, ""], 8000])
def test_a_bad_replica_list_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        PromptSystem("served", "openai/m", "{{ text }}", params={"api_base": bad})
    text = str(info.value)
    assert "systems.served.params.api_base" in text
    assert "a URL or a list of URLs (replicas)" in text and "api_base: [http://" in text


def test_passwords_in_replica_urls_never_reach_the_fingerprint() -> None:
    secret = "hunter2-replica-password"
    system = PromptSystem(
        "served",
        "openai/m",
        "{{ text }}",
        params={"api_base": [f"http://user:{secret}@10.0.0.1/v1", B]},
    )
    assert secret not in repr(system.spec())
    assert system.spec()["params"]["api_base"][1] == B
