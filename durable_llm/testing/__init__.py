"""What users need to test their own agents: scripted models and fake vendor servers."""

from durable_llm.testing.fake_vendor import FakeVendorServer, RawRequest, call_tools, reply
from durable_llm.testing.scripted import ScriptedModel, ScriptedReply

__all__ = ["FakeVendorServer", "RawRequest", "ScriptedModel", "ScriptedReply", "call_tools", "reply"]
