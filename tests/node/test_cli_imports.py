"""The ``idnode`` command loads what a command uses when it runs, not before.

Every sealing process imports the command's module when it starts (it is the main module of
``idnode serve``), so what that module loads, each process pays for.
"""

from __future__ import annotations

from ..loading import HEAVY, loaded_by


def test_the_command_module_loads_no_database_web_or_resolver() -> None:
    assert loaded_by("import node.cli; node.cli.build_parser()") == set()


def test_the_trust_commands_load_the_http_client_only_to_verify() -> None:
    assert loaded_by("import node.trust.cli") == set()
    assert "httpx" in loaded_by("from node.trust import verify_handle")


def test_the_app_still_loads_on_first_use() -> None:
    assert {"fastapi", "sqlalchemy"} <= loaded_by("from node import create_app", HEAVY)
