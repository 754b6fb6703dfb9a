"""Rough token counts for text whose exact count is unknown, and context-window budgets."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ContextBreakdown", "estimate", "estimate_bytes"]


def estimate_bytes(n: int) -> int:
    """Approximate tokens in ``n`` bytes of text: four bytes a token, rounded up."""
    return (n + 3) // 4 if n > 0 else 0


def estimate(text: str) -> int:
    """Approximate tokens in ``text`` (its UTF-8 length, four bytes a token, rounded up)."""
    return estimate_bytes(len(text.encode("utf-8", "surrogatepass")))


@dataclass(frozen=True, slots=True)
class ContextBreakdown:
    """What fills a context window, in tokens.

    The four static parts (system prompt, built-in tools, MCP tools, skills) are known when an
    agent is assembled; ``messages_tokens`` and ``context_limit`` are filled in at query time.
    """

    system_prompt_tokens: int = 0
    system_tools_tokens: int = 0
    mcp_tools_tokens: int = 0
    skills_tokens: int = 0
    messages_tokens: int = 0
    context_limit: int = 0

    def static_total(self) -> int:
        """The four assembly-time parts together (everything but the messages)."""
        return (
            self.system_prompt_tokens + self.system_tools_tokens + self.mcp_tools_tokens + self.skills_tokens
        )
