"""Each registry package's ``__all__`` is exactly its public face (as httpx's test of the same name).

``registry`` loads its names on first use; ``dir()`` shows what it defines and what it would load.
Sub-packages and modules brought in by imports do not count as members.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from ..loading import loaded_by

PACKAGES = ["registry", "registry.codec", "registry.storage", "registry.trust"]


def _is_submodule(package: ModuleType, value: object) -> bool:
    return isinstance(value, ModuleType) and value.__name__.startswith(package.__name__ + ".")


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exactly_the_public_members(name: str) -> None:
    package = importlib.import_module(name)
    listed = package.__all__
    assert len(set(listed)) == len(listed), "a name is listed twice"
    resolved = {member: getattr(package, member) for member in listed}
    public = {
        member
        for member in dir(package)
        if not member.startswith("_") and not _is_submodule(package, getattr(package, member))
    }
    exported = {member for member, value in resolved.items() if not _is_submodule(package, value)}
    assert public == exported


@pytest.mark.parametrize("name", PACKAGES)
def test_every_listed_submodule_is_a_subpackage(name: str) -> None:
    package = importlib.import_module(name)
    for member in package.__all__:
        value = getattr(package, member)
        if isinstance(value, ModuleType):
            assert _is_submodule(package, value), f"{name}.{member} is another package's module"


def test_an_unknown_name_is_an_attribute_error() -> None:
    import registry

    with pytest.raises(AttributeError, match="no attribute 'Sealer'"):
        _ = registry.Sealer  # lives in registry.trust, not on the registry's face
    with pytest.raises(AttributeError, match="no attribute 'SM2PublicKey'"):
        _ = registry.SM2PublicKey  # the native protocol's SM2 check lives in registry.trust too


def test_signing_and_sealing_load_no_storage_and_no_web_stack() -> None:
    # What a sealing process needs: the signer it unpickles and the pool's worker functions.
    assert loaded_by("import registry.trust.sealing, registry.trust.signer") == set()


def test_the_domain_names_load_only_what_they_use() -> None:
    assert loaded_by("from registry import Handle, HandleValue, InvalidInput") == set()
    assert "sqlalchemy" in loaded_by("from registry import RecordService")
