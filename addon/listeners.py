"""Who is told when node state changes outside an operator: the session's timer routing
worker events, a report finishing in the background. ``ui/`` subscribes when it is
registered (the status bar, redrawing the node editors); ``addon/`` never imports ``ui/``."""

from __future__ import annotations

from typing import Callable

_listeners: list[Callable[[], None]] = []


def subscribe(listener: Callable[[], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Callable[[], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def notify() -> None:
    """Tell every listener that something changed."""
    for listener in list(_listeners):
        listener()
