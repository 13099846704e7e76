"""A node serving the native Handle protocol on a free port, on each storage backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from node import Settings, create_app

from ...servers import ThreadedServer, free_port
from .native_nodes import NativeNode

NodeFactory = Callable[..., Any]


@pytest.fixture
def native_node_factory(settings: Settings) -> Iterator[NodeFactory]:
    """``with factory(handle_idle_seconds=1) as node:`` — the node under other native settings."""

    @contextmanager
    def start(**overrides: Any) -> Iterator[NativeNode]:
        configured = settings.model_copy(update={"handle_port": free_port(), **overrides})
        app = create_app(configured)
        with ThreadedServer(app, settings=configured) as server:
            yield NativeNode(server.url, configured.handle_port, app)

    yield start


@pytest.fixture
def native_node(native_node_factory: NodeFactory) -> Iterator[NativeNode]:
    with native_node_factory() as node:
        yield node
