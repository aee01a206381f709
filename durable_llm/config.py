"""Settings: which model an agent uses, with what parameters, and where Temporal is.

Each setting comes from the first of these that has it:

1. code: `load_settings(model="gemini:gemini-2.5-flash")`
2. the environment: `DURABLE_LLM_MODEL=anthropic:claude-sonnet-4-5`, `DURABLE_LLM_TEMPERATURE=0.2`, ...
3. `durable_llm.toml` in the working directory (top-level keys)
4. the `[tool.durable_llm]` table of `pyproject.toml` in the working directory

Switching vendors is one line in any of them. Vendor API keys and base URLs are not settings:
each provider reads its SDK's standard variables (see `durable_llm.providers`), or takes them
from code (`DurableLLMPlugin(providers={...})`). A Chat Completions server of your own can be
named in a settings file (`[servers.<name>]`, see `ChatServer`); `Settings.providers()` gives
it to the plugin.
Every problem surfaces at start-up as a `ConfigError` naming the setting, where its value came
from, and what to do.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    PyprojectTomlConfigSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from durable_llm.agent import Agent, ToolOptions
from durable_llm.providers.base import PROVIDERS, Provider, check_provider_name, get_provider, split_model
from durable_llm.providers.scripted import NAME as SCRIPTED

ENV_PREFIX = "DURABLE_LLM_"
TOML_FILE = "durable_llm.toml"
PYPROJECT_TABLE = ("tool", "durable_llm")

CONFIGURABLE_PROVIDERS = tuple(name for name in PROVIDERS if name != SCRIPTED)
"""The providers a configured model may name: the registry's, but scripted models, which only code can give."""


class ConfigError(Exception):
    """A setting is missing or wrong: says which, where the value came from, and how to fix it."""

    def __init__(self, setting: str, source: str, problem: str, fix: str) -> None:
        super().__init__(f"{setting} (from {source}): {problem}.\n  To fix: {fix}.")
        self.setting = setting
        self.source = source
        self.problem = problem
        self.fix = fix


class ChatServer(BaseModel):
    """A server speaking OpenAI Chat Completions, named in a settings file:

    [servers.gpu]                       # then model = "gpu:qwen3-8b"
    base_url = "http://gpu-box:8000/v1"
    api_key_env = "GPU_BOX_KEY"         # optional: the variable holding its key
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    api_key_env: str | None = None
    """The environment variable holding its key: a key itself never goes in a settings file."""
    headers: dict[str, str] = {}
    """Sent with every call (e.g. OpenRouter's `HTTP-Referer`)."""


class Settings(BaseSettings):
    """The configuration of the agents and Temporal connection the CLI and workers use."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        toml_file=TOML_FILE,
        pyproject_toml_table_header=PYPROJECT_TABLE,
        extra="forbid",
        frozen=True,
    )

    servers: dict[str, ChatServer] = {}
    """Chat Completions servers of your own, by the name model strings give them (checked before `model`)."""
    model: str = "anthropic:claude-sonnet-4-5"
    """The agent's model as "provider:model"."""
    instructions: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_output_tokens: int | None = Field(default=None, gt=0)
    max_turns: int = Field(default=10, ge=1)
    tools: Annotated[tuple[str, ...], NoDecode] = ()
    """Tools as "module:attribute" (a function, or a list of functions); comma-separated in the environment."""
    approval_required: Annotated[tuple[str, ...], NoDecode] = ()
    """Names of tools that wait for a person's approval (`durable-llm approve`, or a prompt in `durable-llm chat`)."""
    task_queue: str = "durable-llm"
    temporal_address: str | None = None
    """host:port of a Temporal server; unset: Temporal's own TEMPORAL_ADDRESS / profile, else the embedded server."""
    temporal_namespace: str = "default"
    data_dir: Path | None = None
    """Where the embedded server keeps its database (default: `durable_llm/server` in the user's data directory)."""
    server_port: int = Field(default=7233, gt=0, lt=65536)
    ui_port: int | None = Field(default=None, gt=0, lt=65536)
    """The embedded server's web UI port (default: `server_port` + 1000)."""
    blob_dir: Path | None = None
    """Where payloads too large for the history are kept (default: `~/.local/share/durable_llm/blobs`)."""
    blob_threshold: int | None = Field(default=None, ge=0)
    """Payloads of at least this many bytes are kept in `blob_dir` by reference (default: 1 KiB)."""

    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("servers")
    @classmethod
    def _check_server_names(cls, value: dict[str, ChatServer]) -> dict[str, ChatServer]:
        for name in value:
            check_provider_name(name)
        return value

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str, info: ValidationInfo) -> str:
        try:
            provider, _ = split_model(value)
        except ValueError as exc:
            raise ValueError(str(exc).replace("model must look like", f"{value!r} is not", 1)) from None
        known = (*CONFIGURABLE_PROVIDERS, *(name for name in info.data.get("servers", {}) if name not in PROVIDERS))
        if provider not in known:
            raise ValueError(f"unknown provider {provider!r}; choose one of: {', '.join(known)}")
        return value

    @field_validator("tools", "approval_required", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("tools")
    @classmethod
    def _check_tools(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ref in value:
            module, sep, attribute = ref.partition(":")
            if not sep or not module or not attribute:
                raise ValueError(f"{ref!r} is not 'module:attribute' (e.g. 'my_app.tools:get_weather')")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code, then the environment, then durable_llm.toml, then pyproject.toml."""
        return init_settings, env_settings, *_file_sources(settings_cls)

    @property
    def provider(self) -> str:
        """The provider part of `model`, e.g. "anthropic"."""
        return self.model.partition(":")[0]

    def origin(self, setting: str) -> str:
        """Where `setting`'s value came from, in words ("environment variable DURABLE_LLM_MODEL", "default")."""
        return self._origins.get(setting, "default")

    def providers(self) -> dict[str, Provider]:
        """The servers named in the settings, as providers for `DurableLLMPlugin(providers=...)`."""
        from durable_llm.providers.openai_chat import ChatCompletionsProvider, Endpoint

        return {
            name: ChatCompletionsProvider(
                endpoint=Endpoint(name, server.base_url, None, server.api_key_env, server.api_key_env is not None),
                headers=server.headers,
            )
            for name, server in self.servers.items()
        }

    def _model_provider(self) -> Provider:
        return self.providers()[self.provider] if self.provider in self.servers else get_provider(self.provider)

    def has_api_key(self) -> bool:
        """Whether the environment holds a credential for the model's vendor."""
        return self._model_provider().credentials_missing() is None

    def check_api_key(self) -> None:
        """Raise `ConfigError` unless the model's vendor has a credential in the environment."""
        missing = self._model_provider().credentials_missing()
        if missing is None:
            return
        raise ConfigError(
            missing,
            "the environment",
            f"not set, and model {self.model!r} (from {self.origin('model')}) calls {self.provider}",
            f"export {missing.split()[0]}=..., or pick a vendor you have a key for with "
            f"{ENV_PREFIX}MODEL; `durable-llm demo` runs without any key against a local fake vendor",
        )

    def load_tools(self) -> list[Callable[..., Any]]:
        """Import the configured tools: each "module:attribute" names a function or a list of them."""
        found: list[Callable[..., Any]] = []
        for ref in self.tools:
            found.extend(import_tools(ref, source=self.origin("tools")))
        return found

    def agent(self, *, tools: Sequence[Any] = (), **options: Any) -> Agent:
        """The `Agent` these settings describe, with `tools` (functions, specs or names).

        `options` are further `Agent` fields (name, instructions, tool_options, ...); they win
        over the settings.
        """
        configured: dict[str, Any] = {
            "model": self.model,
            "instructions": self.instructions,
            "temperature": self.temperature,
            "max_output_tokens": self.max_output_tokens,
            "max_turns": self.max_turns,
        }
        agent = Agent(**{**configured, **options, "tools": tuple(tools)})
        if not self.approval_required:
            return agent
        if unknown := [name for name in self.approval_required if name not in agent.tool_names]:
            raise ConfigError(
                "approval_required",
                self.origin("approval_required"),
                f"names tools the agent does not have: {', '.join(unknown)}",
                f"name some of its tools ({', '.join(agent.tool_names) or 'it has none'})",
            )
        approval = {name: ToolOptions(requires_approval=True) for name in self.approval_required}
        return agent.model_copy(update={"tool_options": {**approval, **agent.tool_options}})


def load_settings(*, from_command_line: bool = False, **overrides: Any) -> Settings:
    """The settings, from `overrides` (code), the environment, durable_llm.toml and pyproject.toml.

    Raises `ConfigError` for an unknown provider, a malformed model string, a malformed TOML
    file, an unknown key in a settings file, or a value of the wrong type. With
    `from_command_line`, errors name the overrides as command-line options (`--model`).
    """
    overrides = {key: value for key, value in overrides.items() if value is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise _config_error(exc, overrides, from_command_line) from None
    settings._origins = _origins(overrides, from_command_line)
    return settings


def import_tools(ref: str, *, source: str = "code") -> list[Callable[..., Any]]:
    """The function(s) `ref` ("module:attribute") names; a list or tuple attribute gives several."""
    module_name, _, attribute = ref.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            "tools",
            source,
            f"cannot import {ref!r}: {exc}",
            "name an importable module and one of its functions (or a list of them), e.g. 'my_app.tools:get_weather'",
        ) from None
    functions = list(value) if isinstance(value, (list, tuple)) else [value]
    if not all(callable(fn) for fn in functions):
        raise ConfigError("tools", source, f"{ref!r} is not a function or a list of functions", "point at the tools")
    return functions


def _file_sources(settings_cls: type[BaseSettings]) -> tuple[PydanticBaseSettingsSource, ...]:
    sources: list[PydanticBaseSettingsSource] = []
    for path, make in ((Path(TOML_FILE), TomlConfigSettingsSource), (Path("pyproject.toml"), _pyproject_source)):
        try:
            sources.append(make(settings_cls))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                "settings file", str(path.resolve()), f"not valid TOML ({exc})", "fix the TOML syntax at that line"
            ) from None
    return tuple(sources)


def _pyproject_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource:
    return PyprojectTomlConfigSettingsSource(settings_cls, Path("pyproject.toml"))


def _origins(overrides: dict[str, Any], from_command_line: bool = False) -> dict[str, str]:
    """Where each explicitly set setting came from, highest precedence first."""
    origins: dict[str, str] = {}
    env = EnvSettingsSource(Settings)()
    files = (
        (TomlConfigSettingsSource(Settings)(), f"{Path(TOML_FILE).resolve()}"),
        (_pyproject_source(Settings)(), f"[tool.durable_llm] in {Path('pyproject.toml').resolve()}"),
    )
    for name in Settings.model_fields:
        if name in overrides:
            origins[name] = f"option --{name.replace('_', '-')}" if from_command_line else f"code: {name}=..."
        elif name in env:
            origins[name] = f"environment variable {ENV_PREFIX}{name.upper()}"
        elif found := next((where for values, where in files if name in values), None):
            origins[name] = found
    for values, where in files:
        for name in set(values) - set(Settings.model_fields):
            origins.setdefault(name, where)
    return origins


def _config_error(exc: ValidationError, overrides: dict[str, Any], from_command_line: bool) -> ConfigError:
    """The first validation error as a `ConfigError` saying where the bad value was set."""
    error = exc.errors()[0]
    setting = str(error["loc"][0]) if error["loc"] else "settings"
    source = _origins(overrides, from_command_line).get(setting, "default")
    if error["type"] == "extra_forbidden":
        known = ", ".join(Settings.model_fields)
        return ConfigError(setting, source, "unknown setting", f"remove it or use one of: {known}")
    problem = str(error["msg"]).removeprefix("Value error, ")
    if setting == "model" and source == "option --model":
        fix = "pass it as 'provider:model', e.g. --model gemini:gemini-2.5-flash"
    elif setting == "model":
        fix = (
            f"set it as 'provider:model', e.g. {ENV_PREFIX}MODEL=gemini:gemini-2.5-flash, "
            f'or model = "openai:gpt-5-mini" in {TOML_FILE}'
        )
    else:
        fix = f"correct it where it is set, or unset it to use the default ({_default(setting)})"
    return ConfigError(setting, source, problem, fix)


def _default(setting: str) -> str:
    field = Settings.model_fields.get(setting)
    return repr(field.default) if field is not None else "none"
