"""The jusage command line (placeholder until the core lands)."""

from __future__ import annotations


def main() -> None:
    """Run the CLI."""
