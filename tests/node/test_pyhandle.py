"""pyhandle 1.5 (from PyPI, unmodified) drives the node over HTTP as it would a Handle.Net server."""

from __future__ import annotations

import pytest
from pyhandle.handleclient import PyHandleClient
from pyhandle.handleexceptions import HandleAlreadyExistsException, HandleNotFoundException

from .helpers import create_enterprise


@pytest.fixture
def client(node_server):
    credential = create_enterprise(node_server.url, "Acme", "88.118.8")
    return PyHandleClient("rest").instantiate_with_username_and_password(
        node_server.url, credential["username"], credential["password"], HTTPS_verify=False
    )


def test_pyhandle_full_lifecycle(client) -> None:
    handle = "88.118.8/JXDY2106023"
    assert client.register_handle(handle, "https://example.com/p/1") == handle
    with pytest.raises(HandleAlreadyExistsException):
        client.register_handle(handle, "https://example.com/p/1")

    record = client.retrieve_handle_record(handle)
    assert record["URL"] == "https://example.com/p/1"
    assert "HS_ADMIN" in record

    client.modify_handle_value(handle, URL="https://example.com/p/2")
    assert client.get_value_from_handle(handle, "URL") == "https://example.com/p/2"

    client.add_handle_value(handle, CHECKSUM="abc123")
    record = client.retrieve_handle_record(handle)
    assert record["CHECKSUM"] == "abc123" and record["URL"] == "https://example.com/p/2"

    client.delete_handle_value(handle, "CHECKSUM")
    assert "CHECKSUM" not in client.retrieve_handle_record(handle)

    minted = client.generate_and_register_handle("88.118.8", "https://example.com/p/3")
    assert minted.startswith("88.118.8/")
    assert client.get_value_from_handle(minted, "URL") == "https://example.com/p/3"

    assert client.delete_handle(handle) == handle
    assert client.retrieve_handle_record(handle) is None
    with pytest.raises(HandleNotFoundException):
        client.delete_handle(handle)


def test_pyhandle_refuses_unknown_username(node_server) -> None:
    with pytest.raises(HandleNotFoundException):
        PyHandleClient("rest").instantiate_with_username_and_password(
            node_server.url, "300:88.118.77/ADMIN", "nope", HTTPS_verify=False
        )
