"""The soak is a package beside the product: it adds `komawari soak` through an entry point,
and the product itself neither ships it nor needs httpx."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from typer.testing import CliRunner

import komawari
from komawari.cli import main
from komawari.cli.main import PLUGIN_GROUP, app


def test_the_soak_package_registers_its_command_through_the_entry_point_group() -> None:
    found = {e.name: e.value for e in entry_points(group=PLUGIN_GROUP)}
    assert found.get("soak") == "komawari_soak.cli:register"


def test_komawari_soak_is_a_command_of_the_product_s_cli() -> None:
    done = CliRunner().invoke(app, ["soak", "--help"])
    assert done.exit_code == 0, done.output
    for option in ("--minutes", "--json", "--seed", "--clients", "--logs"):
        assert option in done.output


def test_a_broken_add_on_is_named_on_stderr_and_the_product_s_commands_still_load(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = EntryPoint(name="broken", value="komawari_no_such_module:register", group="g")
    monkeypatch.setattr(main, "entry_points", lambda group: [broken])
    before = len(app.registered_commands)
    main._register_plugins()
    assert len(app.registered_commands) == before
    err = capsys.readouterr().err
    assert "skipped the commands of 'broken' (komawari_no_such_module:register)" in err


def _runtime_requirements(dist: str) -> set[str]:
    """The names a plain install of `dist` pulls in (no extra)."""
    names = set()
    for line in requires(dist) or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.add(req.name.lower())
    return names


def test_the_product_ships_without_the_soak_and_without_httpx() -> None:
    assert not (Path(komawari.__file__).parent / "soak").exists()
    product = _runtime_requirements("komawari")
    assert "sqlalchemy" in product  # the walk reads the runtime requirements
    assert "httpx" not in product
    assert {"komawari", "httpx"} <= _runtime_requirements("komawari-soak")
