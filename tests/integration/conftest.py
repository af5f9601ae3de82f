"""Fixtures for integration tests: started nodes that are always stopped."""

from __future__ import annotations

import pytest
from nodekit import make_node

from p2p.node import Node


@pytest.fixture
async def nodes(tmp_path):
    """Factory for started nodes; all are stopped at the end of the test."""
    started: list[Node] = []

    async def start(name: str, **kw) -> Node:
        node = make_node(tmp_path, name, **kw)
        await node.start()
        started.append(node)
        return node

    async def stop(node: Node) -> None:
        await node.stop()
        started.remove(node)

    start.stop = stop  # type: ignore[attr-defined]
    yield start
    for n in started:
        await n.stop()
