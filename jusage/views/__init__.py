"""The views finished from aggregated tables: stats, the calendar and session reports, blocks.

Pure functions of their inputs; the clock (``today``, ``now``) is always a parameter.
"""
