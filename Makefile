# Thin wrapper: every task lives in dev.py (which needs only Python 3.11+).
.PHONY: help run demo test lint format migrations bench setup
help:
	@python3 dev.py help
run demo test lint format migrations bench setup:
	@python3 dev.py $@
