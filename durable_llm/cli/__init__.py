"""`durable-llm`: run durable agents from a terminal, with no Temporal server to install.

    durable-llm demo               # the weather agent, end to end (no API key needed)
    durable-llm run "prompt"       # one question, one answer (offline without an API key)
    durable-llm chat               # a conversation; --conversation ID re-attaches to one
    durable-llm history ID         # what was said, tool calls with their ids, tokens (--json)
    durable-llm approve ID CALL_ID # let a tool call waiting for approval run (--reject)
    durable-llm worker --tools my_app.tools:TOOLS
    durable-llm server             # the embedded Temporal server and its web UI, alone

The model comes from the configuration (see `durable_llm.config`): `--model`, then
`DURABLE_LLM_MODEL`, then durable_llm.toml, then `[tool.durable_llm]` in pyproject.toml.

Modules: `commands` (options), `actions` (what each command does), `temporal` (plugin,
connection, worker), `workers` (bounded waits on workers, the tools a worker serves), `watch`
and `render` (the terminal), `offline`, `server` (the embedded Temporal server), `demo`.
"""

from durable_llm.cli.commands import app
from durable_llm.cli.exit import main

__all__ = ["app", "main"]
