"""The providers' wire formats, as the emulator and the SDK fixtures speak them: request bodies in, answer and
error bodies out.

One codec per protocol: OpenAI Chat Completions (with embeddings and models), OpenAI Responses, Anthropic
Messages and Gemini generateContent (google-genai and google-generativeai send the same JSON). A codec turns a
request body into the plugin's :class:`Request` (so the scripted rules can answer it, or the plugin record it)
and a :class:`Completion` back into the body, the server-sent events or the error body that provider sends,
tool calls included. Bodies follow what the official SDKs accept in strict mode (see ``docs/providers.md`` §2).
"""

from __future__ import annotations

from pytest_llmversion.providers.wire.anthropic import AnthropicMessages
from pytest_llmversion.providers.wire.common import Answer, Codec, chunks, pieces, sse, text_of
from pytest_llmversion.providers.wire.gemini import Gemini
from pytest_llmversion.providers.wire.openai_chat import OpenAIChat
from pytest_llmversion.providers.wire.openai_responses import OpenAIResponses

__all__ = [
    "CODECS",
    "Answer",
    "AnthropicMessages",
    "Codec",
    "Gemini",
    "OpenAIChat",
    "OpenAIResponses",
    "chunks",
    "pieces",
    "sse",
    "text_of",
]

CODECS: dict[str, Codec] = {c.name: c for c in (OpenAIChat(), OpenAIResponses(), AnthropicMessages(), Gemini())}
