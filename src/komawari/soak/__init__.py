"""The soak: servers, generators, a mixed load and injected faults, then independent checks."""
