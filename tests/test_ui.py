"""`durable-llm ui`: the web chat in a real browser (headless Chromium), and its guards against misuse."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from agent_kit import agent_worker

from durable_llm import Agent, DurableLLMPlugin, ToolOptions
from durable_llm.testing import FakeVendorServer, call_tools, reply

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ANSWER = " ".join(f"Oslo{i}" for i in range(150))  # streamed in many pieces, ~2 s
SCREENSHOT = os.environ.get("DURABLE_LLM_UI_SCREENSHOT")
"""Also save the screenshot there (how docs/ui.png is made)."""


def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city's name.
    """
    return f"12:00 in {city}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def web_chat(env, monkeypatch, token: str | None = None) -> AsyncIterator[str]:
    """The web app on a free port, with a worker, a fake OpenAI and an agent whose tool needs approval."""
    import uvicorn

    from durable_llm.cli.ui import make_app

    script = [call_tools(("get_time", {"city": "Oslo"})), reply(ANSWER)]
    with FakeVendorServer("openai", script, event_interval=0.02) as vendor:
        for key, value in vendor.env().items():
            monkeypatch.setenv(key, value)
        plugin = DurableLLMPlugin(tools=[get_time])
        agent = Agent(
            model="openai:gpt-4.1-mini",
            tools=[get_time],
            tool_options={"get_time": ToolOptions(requires_approval=True)},
        )
        async with agent_worker(env, plugin) as (client, task_queue):
            app = make_app(client, lambda: agent, task_queue, token=token, temporal_ui="http://temporal/{id}")
            port = free_port()
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
            serving = asyncio.ensure_future(server.serve())
            while not server.started:
                await asyncio.sleep(0.02)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
                await serving


async def test_the_page_sends_a_message_shows_the_answer_growing_and_approves_a_tool_call(
    temporal_env, monkeypatch, tmp_path
):
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    async with web_chat(temporal_env, monkeypatch) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 700})
            await page.goto(url)
            await page.click("#new")
            await page.wait_for_selector("#title:text-matches('chat-')")
            await page.fill("#text", "What time is it in Oslo?")
            await page.click("#send button")
            await page.wait_for_selector(".approval")
            assert "get_time" in await page.inner_text(".approval")
            await page.click(".approval button:text('Approve')")
            live = await page.wait_for_selector(".live")
            lengths = []
            for _ in range(100):
                if not await live.is_visible():
                    break
                lengths.append(len(await live.inner_text()))
                await asyncio.sleep(0.02)
            await page.wait_for_selector(f".msg.assistant:text-matches('{ANSWER[-20:]}')", timeout=20000)
            await page.screenshot(path=str(tmp_path / "ui.png"))
            if SCREENSHOT:
                await page.screenshot(path=SCREENSHOT)
            log = await page.inner_text("#log")
        finally:
            await browser.close()

    assert len(set(lengths)) > 2, f"the answer did not grow as it was written: {lengths}"
    assert "→ get_time" in log and "you: What time is it in Oslo?" in log
    assert (tmp_path / "ui.png").stat().st_size > 10_000


async def ended(env, conversation: str) -> None:
    from durable_llm import AgentWorkflow

    handle = env.client.get_workflow_handle(conversation)
    await handle.signal(AgentWorkflow.end_conversation)
    for _ in range(100):
        if (await handle.describe()).status.name != "RUNNING":
            return
        await asyncio.sleep(0.05)


async def test_requests_from_elsewhere_bad_input_and_missing_tokens_get_clear_refusals(temporal_env, monkeypatch):
    async with web_chat(temporal_env, monkeypatch) as url, httpx.AsyncClient(base_url=url) as http:
        page = (await http.get("/")).text
        csrf = page.split('name="csrf" content="')[1].split('"')[0]
        assert (await http.post("/api/conversations")).status_code == 403  # no CSRF token: not from the page
        foreign = await http.post(
            "/api/conversations", headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403 and "cross-site" in foreign.json()["error"]
        unknown = await http.get("/api/conversations/nobody")
        assert unknown.status_code == 404 and unknown.json() == {"error": "no conversation 'nobody' on this server"}
        created = await http.post("/api/conversations", headers={"X-CSRF-Token": csrf})
        conversation = created.json()["id"]
        empty = await http.post(
            f"/api/conversations/{conversation}/messages", json={"text": " "}, headers={"X-CSRF-Token": csrf}
        )
        assert empty.status_code == 400 and empty.json()["error"] == "write a message first"
        details = (await http.get(f"/api/conversations/{conversation}")).json()
        assert details["temporal_ui"] == f"http://temporal/{conversation}" and details["running"]
        await ended(temporal_env, conversation)
        late = await http.post(
            f"/api/conversations/{conversation}/messages", json={"text": "hello?"}, headers={"X-CSRF-Token": csrf}
        )
        assert late.status_code == 409 and "has ended" in late.json()["error"]

    async with web_chat(temporal_env, monkeypatch, token="s3cret") as url, httpx.AsyncClient(base_url=url) as http:
        refused = await http.get("/api/conversations")
        assert refused.status_code == 401 and "token" in refused.json()["error"]
        assert (await http.get("/?token=s3cret")).status_code == 200  # sets the cookie
        assert (await http.get("/api/conversations")).status_code == 200


def test_an_event_id_says_where_a_reconnecting_page_resumes_and_a_bad_one_is_refused():
    from durable_llm.cli.ui import PageError, _event_id, _resume_point
    from durable_llm.conversation import Usage
    from durable_llm.events import Delta, TurnFinished

    delta = Delta(delta="text", text="Oslo", call="4", attempt=2, agent="a", position=9, shown={"text:0": 13}, offset=7)
    resumed = _resume_point(_event_id(delta))
    assert isinstance(resumed, Delta)
    assert (resumed.offset, resumed.call, resumed.attempt, resumed.shown) == (7, "4", 2, {"text:0": 13})
    turn = TurnFinished(turns=1, usage=Usage(), stop_reason="completed", offset=8)
    assert _resume_point(_event_id(turn)).offset == 8 and not isinstance(_resume_point("8"), Delta)
    with pytest.raises(PageError, match="not an event of this page"):
        _resume_point('{"offset": "x"}')
