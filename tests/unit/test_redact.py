"""brittle.redact: which environment variables hold secrets, and masking in any letter case."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from brittle import redact
from brittle.redact import (
    MASK,
    is_secret_env_name,
    known_secrets,
    pattern_source,
    public_params,
    register,
    scrub,
    secret_env_value,
)

SECRET = "Zq8-service-PASS-value-1234"


@pytest.fixture(autouse=True)
def _forget_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_registered", set())


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "MY_SERVICE_PASS",
        "my_service_pass",
        "BASIC_AUTH",
        "GOOGLE_CREDENTIALS",
        "SERVICE_CREDENTIAL_JSON",
        "apikey",
        "X_Auth_Header",
        "OAUTH_CLIENT_SECRET",
        "HF_TOKEN",
    ],
)
def test_secret_env_names(name: str) -> None:
    assert is_secret_env_name(name)
    assert is_secret_env_name(name.encode())


@pytest.mark.parametrize(
    "name",
    [
        "HOME",
        "PATH",
        "LANG",
        "PYTHONPATH",
        "CI",
        "USER",
        "SHELL",
        # contain KEY, TOKEN, AUTH or PASS inside a word that names no secret: a CI runner's
        # GIT_AUTHOR_NAME must not be masked in model outputs before they are scored
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "TOKENIZERS_PARALLELISM",
        "KEYBOARD_LAYOUT",
    ],
)
def test_ordinary_env_names(name: str) -> None:
    assert not is_secret_env_name(name)


@pytest.mark.parametrize(
    ("value", "secrets"),
    [
        (SECRET, [SECRET]),
        ("  padded-secret-value  ", ["padded-secret-value"]),
        ("8", []),  # PASSWORD_MIN_LENGTH=8: too short to be one
        ("false", []),  # TOKENIZERS_PARALLELISM=false
        ("us", []),  # KEYBOARD_LAYOUT=us
        ("123456789012", []),  # a number (a port, a size, a timeout)
        ("3.14159265", []),
        ("https://auth.example.com/login", []),  # a URL without credentials
        ("https://user:Pw-0123456789@db.example.com/x", ["Pw-0123456789"]),
        ("https://api.example.com/?api_key=Qk-0123456789&x=1", ["Qk-0123456789"]),
    ],
)
def test_secret_env_values(value: str, secrets: list[str]) -> None:
    assert secret_env_value(value) == secrets


def test_an_existing_path_is_not_a_secret_but_a_path_shaped_secret_is(tmp_path: object) -> None:
    assert secret_env_value(str(tmp_path)) == []  # SSH_AUTH_SOCK, GOOGLE_APPLICATION_CREDENTIALS
    base64ish = "/Ab9+cD3eF/gH7iJ=="  # base64 may start with "/": not an existing path
    assert secret_env_value(base64ish) == [base64ish]


def test_env_secrets_are_masked_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_PASS", SECRET)
    monkeypatch.setenv("PASSWORD_MIN_LENGTH", "8")
    monkeypatch.setenv("KEYBOARD_LAYOUT", "us")
    assert SECRET in known_secrets()
    assert "8" not in known_secrets() and "us" not in known_secrets()
    text = f"a {SECRET} b {SECRET.upper()} c {SECRET.lower()} d {SECRET.swapcase()} e"
    assert scrub(text) == f"a {MASK} b {MASK} c {MASK} d {MASK} e"
    assert scrub(text, pairs=False) == f"a {MASK} b {MASK} c {MASK} d {MASK} e"
    # short harmless values stay: "us" and "8" are words and numbers of ordinary text
    assert scrub("8 of us") == "8 of us"


def test_longest_secret_is_masked_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A_TOKEN", "abcdefgh12")
    monkeypatch.setenv("B_TOKEN", "abcdefgh12-and-more")
    assert scrub("x ABCDEFGH12-AND-MORE y") == f"x {MASK} y"


def test_pairs_are_masked_only_when_asked() -> None:
    text = '{"password": "made-up-by-the-model"}'
    assert "made-up-by-the-model" not in scrub(text)
    assert scrub(text, pairs=False) == text


def test_registered_headers_urls_and_params(monkeypatch: pytest.MonkeyPatch) -> None:
    register({"Authorization": "Bearer hdr-0123456789abc", "X-Trace": "short"})
    register("https://user:url-pass-0123456789@example.com/v1")
    assert {"hdr-0123456789abc", "url-pass-0123456789"} <= known_secrets()
    public = public_params(
        {
            "api_base": "https://me:base-pass-0123456789@example.com/v1",
            "api_key": "param-key-0123456789",
            "extra_headers": {"X-Api-Key": "extra-hdr-0123456789"},
            "max_tokens": 5,
            "temperature": 0,
        }
    )
    assert public == {"api_base": "https://example.com/v1", "max_tokens": 5, "temperature": 0}
    for secret in ("base-pass-0123456789", "param-key-0123456789", "extra-hdr-0123456789"):
        assert secret in known_secrets()
        assert scrub(f"error: {secret.upper()} refused") == f"error: {MASK} refused"


def test_max_tokens_is_not_a_secret_parameter() -> None:
    # parameter names keep the narrow rule: max_tokens and top_k are hashed into cache keys
    assert public_params({"max_tokens": 7, "top_k": 3}) == {"max_tokens": 7, "top_k": 3}


def test_pattern_source_masks_any_case_in_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_PASS", SECRET)
    source = pattern_source()
    array = pa.array([f"x {SECRET.upper()} y", f"{SECRET.lower()}", "plain", None])
    masked = pc.replace_substring_regex(array, source, MASK).to_pylist()
    assert masked == [f"x {MASK} y", MASK, "plain", None]
    assert re.compile(source).sub(MASK, SECRET.swapcase()) == MASK
