"""Progress outside the node: the status bar lists the running jobs' nodes, and the node
editors redraw, whenever the session's timer has routed worker events (or a report has
finished). Subscribed to :mod:`genvfx.addon.listeners` while registered."""

from __future__ import annotations

import bpy

from ..addon import listeners, session


def status_text(nodes: list) -> str | None:
    """What the status bar says while ``nodes`` are generating (None: nothing is)."""
    if not nodes:
        return None
    parts = [f"{node.name}: {node.progress * 100:.0f}%" for node in nodes]
    return "genvfx — " + ", ".join(parts) + " (Esc in the node editor or the node's ✕ cancels)"


def show_status(text: str | None) -> None:
    wm = bpy.context.window_manager if bpy.context else None
    if wm is None:
        return
    for window in wm.windows:
        workspace = window.workspace
        if workspace is not None:
            workspace.status_text_set(text)


def redraw_node_editors() -> None:
    wm = bpy.context.window_manager if bpy.context else None
    if wm is None:
        return
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "NODE_EDITOR":
                area.tag_redraw()


def refresh() -> None:
    show_status(status_text(session.running_job_nodes()))
    redraw_node_editors()


def register() -> None:
    listeners.subscribe(refresh)


def unregister() -> None:
    listeners.unsubscribe(refresh)
