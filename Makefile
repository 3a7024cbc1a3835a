# Thin wrapper: every task lives in dev.py (which needs only Python 3.11+).
.PHONY: help run demo test lint format migrations bench setup walkthrough lock
help:
	@python3 dev.py help
run demo test lint format migrations bench setup walkthrough lock:
	@python3 dev.py $@
