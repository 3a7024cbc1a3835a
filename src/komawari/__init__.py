"""Komawari: recurring lessons for multi-branch schools, without duplicates."""

__version__ = "0.1.0"
