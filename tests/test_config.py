"""Settings from code, environment, durable_llm.toml and pyproject.toml; every mistake a clear ConfigError."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from durable_llm import Agent, ConfigError, Settings, load_settings
from durable_llm.cli.demo import get_alerts, get_forecast
from durable_llm.cli.server import configured_address
from durable_llm.config import import_tools

VENDOR_KEYS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_PROFILE",
)


@pytest.fixture(autouse=True)
def clean_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, and an environment without settings, keys or Temporal profile."""
    for name in list(os.environ):
        if name.startswith("DURABLE_LLM_") or name in VENDOR_KEYS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "no-temporal-profile.toml"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_apply_when_nothing_is_configured():
    settings = load_settings()

    assert settings.model == "anthropic:claude-sonnet-4-5"
    assert settings.task_queue == "durable-llm"
    assert settings.origin("model") == "default"


def test_environment_sets_model_and_parameters(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_MODEL", "gemini:gemini-2.5-flash")
    monkeypatch.setenv("DURABLE_LLM_TEMPERATURE", "0.2")
    monkeypatch.setenv("DURABLE_LLM_MAX_OUTPUT_TOKENS", "512")
    monkeypatch.setenv("DURABLE_LLM_TASK_QUEUE", "agents")
    monkeypatch.setenv("DURABLE_LLM_TEMPORAL_ADDRESS", "temporal.internal:7233")

    settings = load_settings()

    assert (settings.provider, settings.temperature, settings.max_output_tokens) == ("gemini", 0.2, 512)
    assert (settings.task_queue, settings.temporal_address) == ("agents", "temporal.internal:7233")
    assert settings.origin("model") == "environment variable DURABLE_LLM_MODEL"


def test_durable_llm_toml_is_read_from_the_working_directory(clean_directory):
    toml = write(clean_directory / "durable_llm.toml", 'model = "openai:gpt-5-mini"\nmax_turns = 4\n')

    settings = load_settings()

    assert (settings.model, settings.max_turns) == ("openai:gpt-5-mini", 4)
    assert settings.origin("model") == str(toml)


def test_pyproject_tool_table_is_read(clean_directory):
    write(
        clean_directory / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.durable_llm]\nmodel = "gemini:gemini-2.5-pro"\n',
    )

    settings = load_settings()

    assert settings.model == "gemini:gemini-2.5-pro"
    assert settings.origin("model").startswith("[tool.durable_llm] in ")


def test_precedence_is_code_then_environment_then_toml_then_pyproject(clean_directory, monkeypatch):
    write(clean_directory / "pyproject.toml", '[tool.durable_llm]\nmodel = "gemini:from-pyproject"\ntask_queue = "p"\n')
    write(clean_directory / "durable_llm.toml", 'model = "openai:from-toml"\ntask_queue = "t"\nmax_turns = 3\n')
    monkeypatch.setenv("DURABLE_LLM_MODEL", "anthropic:from-env")
    monkeypatch.setenv("DURABLE_LLM_TASK_QUEUE", "e")

    assert load_settings().model == "anthropic:from-env"
    assert load_settings(model="openai:from-code").model == "openai:from-code"
    settings = load_settings()
    assert (settings.task_queue, settings.max_turns) == ("e", 3)
    assert settings.origin("max_turns") == str(clean_directory / "durable_llm.toml")


def test_switching_vendor_is_one_line_of_config(clean_directory):
    toml = clean_directory / "durable_llm.toml"
    agents = []
    for model in ("openai:gpt-5-mini", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash"):
        write(toml, f'model = "{model}"\ntemperature = 0.3\n')
        agents.append(load_settings().agent(tools=[get_alerts, get_forecast], name="weather"))

    assert [a.provider for a in agents] == ["openai", "anthropic", "gemini"]
    assert {a.model_dump_json(exclude={"model"}) for a in agents} == {agents[0].model_dump_json(exclude={"model"})}


def test_agent_carries_the_configured_settings(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_INSTRUCTIONS", "Be brief.")
    monkeypatch.setenv("DURABLE_LLM_APPROVAL_REQUIRED", "get_alerts")

    agent = load_settings(temperature=0.5, max_turns=2).agent(tools=[get_alerts, get_forecast])

    assert isinstance(agent, Agent)
    assert (agent.instructions, agent.temperature, agent.max_turns) == ("Be brief.", 0.5, 2)
    assert agent.tool_names == ("get_alerts", "get_forecast")
    assert agent.options_for("get_alerts").requires_approval
    assert not agent.options_for("get_forecast").requires_approval


def test_approval_for_a_tool_the_agent_lacks_is_a_config_error(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_APPROVAL_REQUIRED", "delete_everything")

    with pytest.raises(ConfigError) as caught:
        load_settings().agent(tools=[get_alerts])

    assert caught.value.setting == "approval_required"
    assert "DURABLE_LLM_APPROVAL_REQUIRED" in caught.value.source
    assert "delete_everything" in caught.value.problem


def test_tools_from_the_environment_are_comma_separated_and_importable(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_TOOLS", "durable_llm.cli.demo:get_alerts, durable_llm.cli.demo:WEATHER_TOOLS")

    settings = load_settings()

    assert settings.tools == ("durable_llm.cli.demo:get_alerts", "durable_llm.cli.demo:WEATHER_TOOLS")
    assert settings.load_tools() == [get_alerts, get_alerts, get_forecast]


def test_unknown_provider_names_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_MODEL", "cohere:command-r")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    error = caught.value
    assert (error.setting, error.source) == ("model", "environment variable DURABLE_LLM_MODEL")
    assert "unknown provider 'cohere'" in error.problem
    assert "openai, anthropic, gemini, openai_chat, ollama" in error.problem
    assert "provider:model" in error.fix


def test_malformed_model_string_in_toml_names_the_file(clean_directory):
    toml = write(clean_directory / "durable_llm.toml", 'model = "gpt-5"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert (caught.value.setting, caught.value.source) == ("model", str(toml))
    assert "'gpt-5' is not 'provider:model'" in str(caught.value)


def test_malformed_model_string_in_code_says_code():
    with pytest.raises(ConfigError, match=r"model \(from code: model=\.\.\.\)"):
        load_settings(model="openai:")


def test_malformed_toml_names_the_file_and_line(clean_directory):
    toml = write(clean_directory / "durable_llm.toml", 'model = "openai:gpt-5"\ntemperature = \n')

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert caught.value.source == str(toml)
    assert "not valid TOML" in caught.value.problem
    assert "line 2" in caught.value.problem


def test_malformed_pyproject_is_reported_too(clean_directory):
    write(clean_directory / "pyproject.toml", "[tool.durable_llm\n")

    with pytest.raises(ConfigError, match=r"pyproject\.toml.*not valid TOML"):
        load_settings()


def test_unknown_key_in_a_settings_file_lists_the_known_ones(clean_directory):
    write(clean_directory / "pyproject.toml", '[tool.durable_llm]\nmodle = "openai:gpt-5"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert caught.value.setting == "modle"
    assert "pyproject.toml" in caught.value.source
    assert caught.value.problem == "unknown setting"
    assert "model" in caught.value.fix


def test_value_of_the_wrong_type_names_its_variable(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_TEMPERATURE", "warm")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert (caught.value.setting, caught.value.source) == (
        "temperature",
        "environment variable DURABLE_LLM_TEMPERATURE",
    )
    assert "default (None)" in caught.value.fix


def test_blob_store_settings_reach_the_cli_plugin(clean_directory, monkeypatch):
    from durable_llm.cli.temporal import plugin as _plugin
    from durable_llm.storage import LOCAL_THRESHOLD, CachedDriver, LocalBlobDriver, default_blob_directory

    default = _plugin(load_settings(), ()).storage
    assert default is not None and default.payload_size_threshold == LOCAL_THRESHOLD
    assert isinstance(cached := default.drivers[0], CachedDriver) and isinstance(cached.driver, LocalBlobDriver)
    assert cached.driver.directory == default_blob_directory()

    write(clean_directory / "durable_llm.toml", 'blob_dir = "blobs"\n')
    monkeypatch.setenv("DURABLE_LLM_BLOB_THRESHOLD", "65536")
    configured = _plugin(load_settings(), ()).storage
    assert configured is not None and configured.payload_size_threshold == 65536
    assert isinstance(cached := configured.drivers[0], CachedDriver) and isinstance(cached.driver, LocalBlobDriver)
    assert cached.driver.directory == clean_directory / "blobs"

    monkeypatch.setenv("DURABLE_LLM_BLOB_THRESHOLD", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert (caught.value.setting, caught.value.source) == (
        "blob_threshold",
        "environment variable DURABLE_LLM_BLOB_THRESHOLD",
    )


def test_tools_reference_must_be_module_colon_attribute(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_TOOLS", "durable_llm.cli.demo.get_alerts")

    with pytest.raises(ConfigError, match="not 'module:attribute'"):
        load_settings()


def test_tool_that_cannot_be_imported_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        import_tools("durable_llm.cli.demo:get_tide", source="--tools")

    assert (caught.value.setting, caught.value.source) == ("tools", "--tools")
    assert "get_tide" in caught.value.problem


def test_missing_api_key_names_the_variable_and_where_the_model_came_from(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_MODEL", "openai:gpt-5-mini")
    settings = load_settings()

    with pytest.raises(ConfigError) as caught:
        settings.check_api_key()

    assert caught.value.setting == "OPENAI_API_KEY"
    assert "DURABLE_LLM_MODEL" in caught.value.problem
    assert "durable-llm demo" in caught.value.fix


@pytest.mark.parametrize(
    ("model", "variable"),
    [
        ("openai:gpt-5", "OPENAI_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_AUTH_TOKEN"),
        ("gemini:gemini-2.5-flash", "GEMINI_API_KEY"),
        ("gemini:gemini-2.5-flash", "GOOGLE_API_KEY"),
    ],
)
def test_each_vendors_standard_key_variable_counts(monkeypatch, model, variable):
    settings = load_settings(model=model)
    assert not settings.has_api_key()

    monkeypatch.setenv(variable, "k")

    assert settings.has_api_key()
    settings.check_api_key()


def test_temporal_address_setting_wins(monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "from-temporal-env:7233")
    monkeypatch.setenv("DURABLE_LLM_TEMPORAL_ADDRESS", "ours:7233")
    monkeypatch.setenv("DURABLE_LLM_TEMPORAL_NAMESPACE", "agents")

    assert configured_address(load_settings()) == {"target_host": "ours:7233", "namespace": "agents"}


def test_temporals_own_environment_is_used_next(monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "from-temporal-env:7233")

    assert configured_address(load_settings())["target_host"] == "from-temporal-env:7233"


def test_no_configured_address_means_the_embedded_server():
    assert configured_address(load_settings()) == {}


def test_malformed_temporal_profile_is_a_config_error(clean_directory, monkeypatch):
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(write(clean_directory / "temporal.toml", "[profile.default\n")))

    with pytest.raises(ConfigError, match="TEMPORAL_CONFIG_FILE"):
        configured_address(load_settings())


def test_settings_are_exported_from_the_package():
    import durable_llm

    assert {"Settings", "ConfigError", "load_settings"} <= set(durable_llm.__all__)
    assert durable_llm.Settings is Settings
