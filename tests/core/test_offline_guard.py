"""The suite's network guard is on: a test that opens an internet socket fails (Atelier is offline)."""

from __future__ import annotations

import socket

import pytest


def test_opening_an_internet_socket_is_refused() -> None:
    with pytest.raises(Exception, match=r"(?i)socket"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_guard_is_configured_for_the_whole_suite(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getoption("disable_socket") is True
