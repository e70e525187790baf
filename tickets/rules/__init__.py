"""Decisions without writes: who may act, the 24-hour window, automatic texts, the menu, local time."""
