"""Systems under test: a prompt on a model, a fine-tuned model, or a Python callable.

Each system has a *fingerprint*: a hash of everything that determines its output (model string,
call parameters, template text, and the content of adapter or model files it names). Results and
baselines record it, so a report can say "the prompt changed" next to "accuracy dropped".
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes

from brittle._errors import ConfigError
from brittle.checks._params import kind
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.gateway.pricing import Price, parse_price
from brittle.local import local_fingerprint
from brittle.redact import public_params
from brittle.spec.adapter import adapter_base, check_base, parse_adapter_check
from brittle.spec.decision import parse_training_cost

_JINJA = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
)


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Template:
    """A Jinja2 template rendered with a case's input fields (``{{ text }}``).

    ``source`` is the file it came from (or ``"<inline>"``), for error messages.
    """

    text: str
    source: str = "<inline>"

    def __post_init__(self) -> None:
        try:
            compiled = _JINJA.from_string(self.text)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"template syntax error: {exc.message}",
                where=self.source,
                line=exc.lineno,
                fix="templates use Jinja2 syntax: {{ field }} for a case's input field",
            ) from None
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_parts", _plain_parts(self.text))

    @property
    def fields(self) -> frozenset[str]:
        """The variables the template uses."""
        return frozenset(jinja2.meta.find_undeclared_variables(_JINJA.parse(self.text)))

    def render(self, inputs: Mapping[str, Any]) -> str:
        parts: tuple[tuple[str, bool], ...] | None = self._parts  # type: ignore[attr-defined]
        if parts is not None and _plain_inputs(parts, inputs):
            # what Jinja2 makes of text and ``{{ name }}`` alone (str of each value), without
            # its context per call: 1 us against 10 (a run renders every row's prompt)
            return "".join(str(inputs[text]) if name else text for text, name in parts)
        compiled: jinja2.Template = self._compiled  # type: ignore[attr-defined]
        return compiled.render(**inputs)

    @classmethod
    def from_file(cls, path: str | Path, *, encoding: str = "utf-8") -> Template:
        """The template in the text file ``path`` (relative to the working directory; write
        ``Path(__file__).parent / "prompt.txt"`` for one beside the test file)."""
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_file():
            raise ConfigError(
                f"template file '{path}' does not exist (looked for {resolved})",
                where=caller_location(),
                fix="relative paths start at the working directory; write e.g. "
                "Path(__file__).parent / 'prompts' / 'zero_shot.txt' for one beside the test",
            )
        return cls(resolved.read_text(encoding=encoding), source=str(resolved))

    def line_of(self, name: str) -> int | None:
        pattern = re.compile(r"\{[{%][^}]*\b" + re.escape(name) + r"\b")
        for number, line in enumerate(self.text.splitlines(), start=1):
            if pattern.search(line):
                return number
        return None


def _plain_parts(text: str) -> tuple[tuple[str, bool], ...] | None:
    """A template that is only literal text and ``{{ name }}`` outputs, as ``(text, False)`` and
    ``(name, True)`` pieces in order, read from Jinja2's own parse (comments, whitespace control
    and the dropped trailing newline already applied); None for anything more."""
    parts: list[tuple[str, bool]] = []
    for node in _JINJA.parse(text).body:
        if not isinstance(node, jinja2.nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, jinja2.nodes.TemplateData):
                parts.append((child.data, False))
            elif isinstance(child, jinja2.nodes.Name) and child.ctx == "load":
                parts.append((child.name, True))
            else:
                return None
    return tuple(parts)


def _plain_inputs(parts: tuple[tuple[str, bool], ...], inputs: Mapping[str, Any]) -> bool:
    """Whether Jinja2 would render ``parts`` from ``inputs`` as plain ``str`` of each value:
    every name given, and ``render(**inputs)`` itself fine (text keys, none named ``self``).
    Otherwise Jinja2 renders, and raises what it raises."""
    if "self" in inputs or not all(type(key) is str for key in inputs):
        return False
    return all(text in inputs for text, name in parts if name)


def _number(low: float, high: float | None, *, above: bool = False) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return False
        if above and value <= low:
            return False
        return value >= low and (high is None or value <= high)

    return ok


def _whole(low: int | None) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return low is None or value >= low

    return ok


def _endpoints(value: Any) -> bool:
    """One URL, or a non-empty list of them (replicas, :mod:`brittle.gateway.replicas`)."""
    if isinstance(value, list | tuple):
        return bool(value) and all(isinstance(v, str) and v for v in value)
    return isinstance(value, str)


_REPLICAS_EXAMPLE = "api_base: [http://10.0.0.1:8000/v1, http://10.0.0.2:8000/v1]"

#: what every call of a ``local/`` model asks besides its system's params (which may say
#: otherwise): the answer tokens' log-probabilities and 10 alternatives per position, for
#: ``expected_prob`` (:mod:`brittle.stats.probshift`); they change no answer
LOCAL_LOGPROBS: dict[str, Any] = {"logprobs": True, "top_logprobs": 10}

#: Common call parameters checked when a system is defined: name -> (what it must be, the
#: check, an example). Others pass through to the provider as written.
CALL_PARAMS: dict[str, tuple[str, Callable[[Any], bool], str]] = {
    "api_base": ("a URL or a list of URLs (replicas)", _endpoints, _REPLICAS_EXAMPLE),
    "base_url": ("a URL or a list of URLs (replicas)", _endpoints, _REPLICAS_EXAMPLE),
    "temperature": ("a number from 0 to 2", _number(0, 2), "temperature: 0"),
    "top_p": ("a number from 0 to 1", _number(0, 1), "top_p: 0.9"),
    "max_tokens": ("a whole number of at least 1", _whole(1), "max_tokens: 64"),
    "n": ("a whole number of at least 1", _whole(1), "n: 1"),
    "seed": ("a whole number", _whole(None), "seed: 7"),
    "timeout": ("a number of seconds above 0", _number(0, None, above=True), "timeout: 60"),
}


def check_call_params(
    params: Any,
    *,
    where: str | None,
    key: str,
    line: int | None = None,
    param_lines: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``params`` as a dict, with the common parameters (:data:`CALL_PARAMS`) of the right type
    and range: a wrong one is a ConfigError at load, not an error on every row."""
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"'params' must be a mapping, got {kind(params)}",
            where=where,
            line=line,
            key=key,
            fix="write e.g. 'params: {temperature: 0, max_tokens: 16}'",
        )
    for name, value in params.items():
        rule = CALL_PARAMS.get(str(name))
        if rule is not None and value is not None and not rule[1](value):
            raise ConfigError(
                f"must be {rule[0]}, got {kind(value)}",
                where=where,
                line=(param_lines or {}).get(str(name), line),
                key=f"{key}.{name}",
                fix=f"write e.g. '{rule[2]}' (unquoted), or leave it out (the provider's default)",
            )
    return dict(params)


def caller_location() -> str | None:
    """``file:line`` of the user code that called into brittle (for the Python API's errors)."""
    here = str(Path(__file__).resolve().parents[1])
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((here, "<")) and "dataclasses" not in filename:
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


def check_transport(value: Any, *, where: str | None, key: str, line: int | None = None) -> str:
    """A system's ``transport`` key: ``auto`` (the default) or ``litellm``."""
    if value is None:
        return "auto"
    if value not in ("auto", "litellm"):
        raise ConfigError(
            f"unknown transport {value!r}",
            where=where,
            line=line,
            key=f"{key}.transport",
            fix="write 'transport: auto' (the fast OpenAI transport where it sends what litellm "
            "would, else litellm) or 'transport: litellm' (always litellm)",
        )
    return str(value)


def _expect(value: Any, types: Any, *, key: str, what: str, fix: str | None = None) -> None:
    """A TypeError-like ConfigError at the caller's line when ``value`` is not of ``types``."""
    if key == "name" and fix is None:
        fix = "give the system's name first, as text: e.g. CallableSystem('mine', answer)"
    if not isinstance(value, types) or isinstance(value, bool):
        raise ConfigError(
            f"must be {what}, got {kind(value)}", where=caller_location(), key=key, fix=fix
        )


class System:
    """Base class of systems under test."""

    name: str
    kind: str

    def fingerprint(self) -> str:
        return _digest(self.spec())

    def spec(self) -> dict[str, Any]:
        """JSON-serialisable description of what determines the output."""
        raise NotImplementedError

    def required_fields(self) -> frozenset[str]:
        """Case input fields the system needs."""
        return frozenset()

    def prompt_for(self, inputs: Mapping[str, Any]) -> str:
        """A readable rendering of what the system is given, for the results table."""
        return json.dumps(dict(inputs), ensure_ascii=False, default=str)

    async def run(self, inputs: Mapping[str, Any], gateway: Gateway) -> CallResult:
        raise NotImplementedError


@dataclass
class LLMSystem(System):
    """A template on a litellm model string: a prompt system, or a (fine-tuned) model system.

    ``kind`` is ``"prompt"`` (a prompt engineered on a base model) or ``"model"`` (a fine-tuned
    model with an optional minimal template). Without a template the case's single input field is
    sent as is.
    """

    name: str
    model: str
    template: Template | None = None
    system_prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "prompt"
    #: the model string actually called (relative adapter paths resolved); ``model`` stays as
    #: written so that fingerprints do not depend on where the checkout lives.
    call_model: str | None = None
    #: ``auto`` (the fast OpenAI transport where it gives litellm's request, else litellm) or
    #: ``litellm`` (always litellm); not in the fingerprint: the answers are the same
    transport: str = "auto"
    #: the system's own price (``price: {input_per_mtok, output_per_mtok}``), else litellm's
    #: price table prices its calls (:mod:`brittle.gateway.pricing`); not in the fingerprint
    price: Price | None = None
    #: USD spent once to train it (``training_cost``): the decision's break-even; not in the
    #: fingerprint
    training_cost: float | None = None
    #: a fine-tune's base model (``base: <model>``) where the model string does not say it
    #: (``local/base+adapter`` does); ``adapter_check`` (``True``, ``{"sample": N}``, N or
    #: ``False``; kept as the sample size, 0 for off): the check that the fine-tune changes
    #: answers (:mod:`brittle.spec.adapter`); neither is in the fingerprint
    base: str | None = None
    adapter_check: Any = True

    def __post_init__(self) -> None:
        _expect(self.name, str, key="name", what="a system name (text)")
        self.price = _price(self.price, self.name)
        self.training_cost = _training_cost(self.training_cost, self.name)
        key = f"systems.{self.name}"
        self.base = check_base(self.base, where=caller_location(), key=f"{key}.base")
        self.adapter_check = parse_adapter_check(
            self.adapter_check, where=caller_location(), key=f"{key}.adapter_check"
        )
        _expect(
            self.model,
            str,
            key=f"systems.{self.name}.model",
            what="a litellm model string",
            fix="write e.g. model='openai/gpt-4o-mini' or 'local/smollm2'",
        )
        if self.template is not None and not isinstance(self.template, Template):
            self.template = template_argument(self.template, name=self.name)
        if self.system_prompt is not None:
            _expect(self.system_prompt, str, key=f"systems.{self.name}.system_prompt", what="text")
        self.params = check_call_params(
            self.params, where=caller_location(), key=f"systems.{self.name}.params"
        )
        check_transport(self.transport, where=caller_location(), key=f"systems.{self.name}")

    def required_fields(self) -> frozenset[str]:
        return self.template.fields if self.template is not None else frozenset()

    def base_model(self) -> tuple[str, str] | None:
        """The fine-tune's base as ``(written, called)``, None when unknown."""
        return adapter_base(self.model, self.call_model, self.base)

    def render(self, inputs: Mapping[str, Any]) -> str:
        if self.template is not None:
            return self.template.render(inputs)
        if len(inputs) != 1:
            raise ConfigError(
                f"system '{self.name}' has no template and the case has {len(inputs)} input "
                "fields, so brittle cannot tell which one to send",
                key=f"systems.{self.name}.template",
                fix="add a template such as 'template: \"{{ text }}\"'",
            )
        return str(next(iter(inputs.values())))

    def messages(
        self, inputs: Mapping[str, Any], *, prompt: str | None = None
    ) -> tuple[dict[str, str], ...]:
        """The chat messages for ``inputs``; ``prompt``: their rendering, when already made."""
        user = {"role": "user", "content": self.render(inputs) if prompt is None else prompt}
        if self.system_prompt:
            return ({"role": "system", "content": self.system_prompt}, user)
        return (user,)

    def prompt_for(self, inputs: Mapping[str, Any]) -> str:
        return self.render(inputs)

    def with_template(self, template: str | Template) -> LLMSystem:
        """A copy of this system with another template (instruction- and format-level variants).

        The copy keeps the name, model and parameters: its calls are this system's calls on a
        reworded prompt, and its results are reported under this system.
        """
        if not isinstance(template, Template):
            source = self.template.source if self.template is not None else "<inline>"
            template = Template(template, source=f"{source} (perturbed)")
        return dataclasses.replace(self, template=template)

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "kind": self.kind,
            "model": self.model,
            # credentials (api_key, headers, ...) determine no output: never hashed or shown
            "params": public_params(self.params),
            "template": self.template.text if self.template is not None else None,
            "system_prompt": self.system_prompt,
        }
        if self.model.startswith("local/"):
            spec["model_files"] = local_fingerprint(self.call_model or self.model)
        return spec

    def request(self, inputs: Mapping[str, Any], *, prompt: str | None = None) -> CallRequest:
        """The call made for ``inputs`` (also used to predict cache keys without calling);
        ``prompt``: :meth:`prompt_for` of ``inputs``, when the caller has it already."""
        model = self.call_model or self.model
        return CallRequest(
            model=model,
            messages=self.messages(inputs, prompt=prompt),
            # local/ models always give token log-probabilities (prob_shift); remote endpoints
            # only when the system's params ask (logprobs: true), as not all support them
            params={**LOCAL_LOGPROBS, **self.params} if model.startswith("local/") else self.params,
            transport="litellm" if self.transport == "litellm" else None,
        )

    async def run(
        self, inputs: Mapping[str, Any], gateway: Gateway, *, prompt: str | None = None
    ) -> CallResult:
        """The call on ``inputs``; ``prompt``: :meth:`prompt_for` of them, when already made
        (the engine keeps it for the results table: each row's template is rendered once)."""
        return await gateway.complete(self.request(inputs, prompt=prompt))


def PromptSystem(
    name: str,
    model: str,
    template: str | Path | Template,
    *,
    system_prompt: str | None = None,
    params: Mapping[str, Any] | None = None,
    transport: str = "auto",
    price: Mapping[str, float] | Price | None = None,
    training_cost: float | None = None,
) -> LLMSystem:
    """A prompt engineered on a model: ``template`` is Jinja2 text, a :class:`~pathlib.Path` of
    a template file or a :class:`Template` (``Template.from_file(path)``); text that names a
    file is refused (it would be sent as the prompt).

    ``price`` (``{"input_per_mtok": 0.15, "output_per_mtok": 0.6}``, US dollars per million
    tokens) overrides litellm's price table for this system's cost; ``training_cost`` (US
    dollars, one-off) is what it cost to make, for the decision's break-even.
    """
    if template is None:
        _expect(
            template,
            str,
            key=f"systems.{name}.template",
            what="Jinja2 text, a pathlib.Path or a brittle Template",
            fix="write e.g. template='Classify: {{ text }}' (ModelSystem takes no template)",
        )
    tmpl = template_argument(template, name=name)
    return LLMSystem(
        name,
        model,
        tmpl,
        system_prompt,
        _params(params),
        kind="prompt",
        transport=transport,
        price=price,  # type: ignore[arg-type]  # a mapping is parsed by the system
        training_cost=training_cost,
    )


def ModelSystem(
    name: str,
    model: str,
    template: str | Path | Template | None = None,
    *,
    system_prompt: str | None = None,
    params: Mapping[str, Any] | None = None,
    transport: str = "auto",
    price: Mapping[str, float] | Price | None = None,
    training_cost: float | None = None,
    base: str | None = None,
    adapter_check: bool | int | Mapping[str, int] = True,
) -> LLMSystem:
    """A fine-tuned model (provider id, local server or ``local/base+adapter``); ``template``
    ``price`` and ``training_cost`` as for :func:`PromptSystem` (no template: the case's one
    input field).

    ``base`` names the model a provider fine-tune was trained from (``local/base+adapter``
    says it itself): brittle then answers a sample of originals with the base too and warns
    when the fine-tune changed none of them; ``adapter_check`` sets the sample
    (``{"sample": 30}``, the default) or turns the check off (``False``)."""
    tmpl = template_argument(template, name=name)
    return LLMSystem(
        name,
        model,
        tmpl,
        system_prompt,
        _params(params),
        kind="model",
        transport=transport,
        price=price,  # type: ignore[arg-type]  # a mapping is parsed by the system
        training_cost=training_cost,
        base=base,
        adapter_check=adapter_check,
    )


#: suffixes of template files: a text with one of them, no braces and no spaces is a path
TEMPLATE_SUFFIXES = (".txt", ".j2", ".jinja", ".jinja2", ".md", ".tmpl", ".prompt")


def template_argument(value: Any, *, name: str) -> Template | None:
    """A system's ``template`` argument in Python: Jinja2 text, a :class:`Template`, or a
    :class:`~pathlib.Path` of a template file. Text that names a file (or looks like a file
    name) is refused: it would be sent as the prompt itself."""
    if value is None or isinstance(value, Template):
        return value
    if isinstance(value, Path):
        return Template.from_file(value)
    _expect(
        value,
        str,
        key=f"systems.{name}.template",
        what="Jinja2 text, a pathlib.Path or a brittle Template",
        fix="write e.g. template='Classify: {{ text }}' or template=Path('prompt.txt')",
    )
    stripped = value.strip()
    if stripped and "{" not in stripped and "\n" not in stripped and len(stripped) < 1024:
        exists = Path(stripped).expanduser().is_file()
        if exists or (" " not in stripped and stripped.lower().endswith(TEMPLATE_SUFFIXES)):
            what = "is a file path" if exists else "looks like a file path (no such file here)"
            raise ConfigError(
                f"template '{stripped}' {what}, so it would be sent as the prompt itself",
                where=caller_location(),
                key=f"systems.{name}.template",
                fix=f"pass Path('{stripped}') or brittle.Template.from_file('{stripped}'), "
                "or write the template text with {{ field }} for the case's input",
            )
    return Template(value)


def _price(value: Any, name: str) -> Price | None:
    """A system's ``price`` (None: litellm's price table), checked."""
    if value is None or isinstance(value, Price):
        return value
    return parse_price(value, key=f"systems.{name}.price", where=caller_location())


def _training_cost(value: Any, name: str) -> float | None:
    """A system's ``training_cost`` (None: not set), checked."""
    return parse_training_cost(value, key=f"systems.{name}.training_cost", where=caller_location())


def _params(params: Any) -> Any:
    """``params`` for a system: None is no parameters; anything else is checked by the system."""
    return {} if params is None else params


@dataclass
class CallableSystem(System):
    """A Python function ``fn(inputs: dict) -> str`` (sync or async): a custom pipeline.

    Its fingerprint hashes the function's source; pass ``version`` to mark changes the source
    does not show (a retrained model behind it, say). ``price`` (as for :func:`PromptSystem`)
    prices the tokens the function reports (a returned :class:`~brittle.gateway.CallResult`);
    without it, the costs it reports are summed. ``training_cost``: as for :func:`PromptSystem`.
    """

    name: str
    function: Callable[..., Any]
    version: str | None = None
    kind: str = "python"
    price: Price | None = None
    training_cost: float | None = None  # USD, one-off (the decision's break-even)

    def __post_init__(self) -> None:
        _expect(self.name, str, key="name", what="a system name (text)")
        self.price = _price(self.price, self.name)
        self.training_cost = _training_cost(self.training_cost, self.name)
        if not callable(self.function):
            raise ConfigError(
                f"must be a function inputs -> answer, got {kind(self.function)}",
                where=caller_location(),
                key=f"systems.{self.name}.function",
                fix="pass the function itself, e.g. CallableSystem('mine', answer)",
            )

    def spec(self) -> dict[str, Any]:
        fn = self.function
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            source = repr(fn)
        return {
            "kind": self.kind,
            "callable": f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}",
            "source_sha256": hashlib.sha256(source.encode()).hexdigest()[:16],
            "version": self.version,
        }

    async def run(self, inputs: Mapping[str, Any], gateway: Gateway) -> CallResult:
        return await gateway.run_callable(self.function, inputs)


def import_callable(reference: str, *, where: str | None, key: str) -> Callable[..., Any]:
    """Import ``"package.module:attribute"``."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"'{reference}' is not of the form 'module:function'",
            where=where,
            key=key,
            fix="write e.g. 'mypackage.pipelines:answer'",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import module '{module_name}': {exc}",
            where=where,
            key=key,
            fix="make it importable (install the package, or put it beside conftest.py)",
        ) from None
    try:
        obj = getattr(module, attribute)
    except AttributeError:
        raise ConfigError(
            f"module '{module_name}' has no attribute '{attribute}'",
            where=where,
            key=key,
            fix="check the name after the colon",
        ) from None
    if not callable(obj):
        raise ConfigError(f"'{reference}' is not callable", where=where, key=key)
    return obj


def load_template(value: str, *, base_dir: Path, where: str, key: str) -> Template:
    """A template given inline or as a path (relative to the eval file) to a text file."""
    stripped = value.strip()
    if "{{" not in value and "\n" not in stripped and stripped.endswith((".txt", ".j2", ".md")):
        path = (base_dir / stripped).resolve()
        if not path.is_file():
            raise ConfigError(
                f"template file '{stripped}' does not exist (looked for {path})",
                where=where,
                key=key,
                fix="fix the path (relative to the eval file) or write the template inline",
            )
        return Template(path.read_text(encoding="utf-8"), source=str(path))
    return Template(value, source=f"{where} ({key})")
