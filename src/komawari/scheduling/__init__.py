"""The scheduling rules as plain functions over plain values: no database, no web."""
