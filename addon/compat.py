"""What differs between the Blender versions the add-on runs in (5.0 and later), decided in
this one module: nothing else in the add-on reads ``bpy.app.version``.

Each decision takes a version tuple ``(major, minor, patch)`` and, without one, asks the
running Blender, so the decisions are tested without bpy (tests/test_compat.py).
Everything else the add-on calls is the same from 5.0 to 5.3 (docs/blender_api_check.md
lists each API and what the change logs say of it); the code that acts on a decision
lives where the nodes are built (:mod:`.group_nodes`, :mod:`.bake`).
"""

from __future__ import annotations

#: Blender 5.1: the Mix node's colour blending mixes alpha too (5.0 passes A's alpha through).
MIX_MIXES_ALPHA = (5, 1, 0)
#: Blender 5.2: the File Output node has a File Extension toggle (``use_file_extension``).
FILE_OUTPUT_EXTENSION_TOGGLE = (5, 2, 0)


def running_version() -> tuple[int, int, int]:
    """The version of the Blender (or ``bpy`` module) this runs in."""
    import bpy

    return tuple(bpy.app.version)[:3]


def _version(version) -> tuple[int, ...]:
    return tuple(version) if version is not None else running_version()


def mix_mixes_alpha(version=None) -> bool:
    """Whether a colour Mix node mixes A's and B's alpha. Where it does, the add-on's groups
    put A's alpha back after each colour Mix, so they give the same pixels on every version."""
    return _version(version) >= MIX_MIXES_ALPHA


def file_output_settings(version=None) -> dict:
    """Settings a bake's File Output node needs on top of its format, by name: from 5.2 the
    File Extension toggle, on, since the bake looks for ``.exr`` files (5.0 and 5.1 always
    add the extension and have no such setting)."""
    if _version(version) >= FILE_OUTPUT_EXTENSION_TOGGLE:
        return {"use_file_extension": True}
    return {}
