"""Page tests of the branches domain run on the application fixtures of tests/api."""

from tests.api.conftest import app, client, world  # noqa: F401
