"""The one node starter's ports: under xdist each worker walks a slice no other worker uses."""

from __future__ import annotations

import socket

import pytest

from loadtests import free_port


def test_a_worker_takes_ports_from_its_own_slice_below_the_ephemeral_range(
    monkeypatch: pytest.MonkeyPatch,
):
    slices = {}
    for worker in ("gw0", "gw1", "gw5"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        slices[worker] = {free_port() for _ in range(20)}
        assert len(slices[worker]) == 20
        assert all(20000 <= port < 32000 for port in slices[worker])
    assert not slices["gw0"] & slices["gw1"]
    assert not slices["gw1"] & slices["gw5"]


def test_a_port_something_listens_on_is_never_given(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw2")
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        # The slice is walked from the port after the last one given: a whole lap comes back
        # round to ``port`` while it is still taken.
        given = {free_port() for _ in range(1500)}
    assert port not in given


def test_a_udp_port_is_free_for_both_protocols(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    port = free_port(udp=True)
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", port))
        udp.bind(("127.0.0.1", port))


def test_outside_xdist_the_kernel_picks(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    port = free_port(udp=True)
    with socket.socket() as tcp:
        tcp.bind(("127.0.0.1", port))
