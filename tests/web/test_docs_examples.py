"""Every curl example of docs/api.md runs, in order, and answers the status it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.factories.world import World

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
EXAMPLE = re.compile(r"(curl\b.*?)\n# -> (\d{3})(?:, sets (\w+) from \.(\w+))?\n", re.S)


def examples() -> list[tuple[str, int, str | None, str | None]]:
    """Return (command, status, variable, field) for each curl example, in order."""
    found = []
    for block in BLOCK.findall(DOC.read_text()):
        for m in EXAMPLE.finditer(block):
            found.append((m[1], int(m[2]), m[3], m[4]))
    return found


def _request(command: str, variables: dict[str, str]) -> dict[str, Any]:
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl"
    request: dict[str, Any] = {"method": "GET", "headers": {}, "content": None, "url": None}
    args = iter(words[1:])
    for word in args:
        if word == "-s":
            continue
        if word == "-X":
            request["method"] = next(args)
        elif word == "-H":
            name, _, value = next(args).partition(":")
            request["headers"][name.strip()] = value.strip()
        elif word == "-d":
            request["content"] = next(args)
            request["method"] = "POST" if request["method"] == "GET" else request["method"]
        else:
            assert request["url"] is None, f"unexpected argument {word!r}"
            request["url"] = word
    for name, value in variables.items():
        request["url"] = request["url"].replace(f"${name}", value)
        request["headers"] = {
            k: v.replace(f"${name}", value) for k, v in request["headers"].items()
        }
    assert "$" not in request["url"] + "".join(request["headers"].values()), request
    return request


def test_the_docs_have_examples_for_every_part() -> None:
    text = DOC.read_text()
    commands = [e[0] for e in examples()]
    assert len(commands) == text.count("curl -s"), "each curl example needs '# -> <status>'"
    for part in ("/api/class-series", "/api/class-sessions", "/schedule", "/calendar/",
                 "Idempotency-Key", "/api/audit/skipped", "/api/generation-runs"):  # fmt: skip
        assert any(part in c for c in commands), part


def test_every_curl_example_answers_its_status(client: TestClient, world: World) -> None:
    variables = {"KOMAWARI": "", "TOKEN": world.admin, "STAFF_TOKEN": world.staff_a}
    for command, status, variable, field in examples():
        req = _request(command, variables)
        response = client.request(
            req["method"], req["url"], headers=req["headers"], content=req["content"]
        )
        assert response.status_code == status, f"{command}\n-> {response.text[:500]}"
        assert "Traceback" not in response.text
        if variable and field:
            variables[variable] = str(response.json()[field])
