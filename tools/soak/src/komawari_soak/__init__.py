"""The soak: servers, generators, a mixed load and injected faults, then independent checks.

A tool beside the product (tools/soak), not part of it: installed, it adds `komawari soak`
to the `komawari` command through the `komawari.commands` entry point.
"""
