"""Terminal rendering: text tables, numbers, money and the views drawn for people."""
