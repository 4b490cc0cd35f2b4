"""How a new Python process (the worker, a command, a Blender) imports this package from
its own folder, whatever that folder is called."""

from __future__ import annotations

from pathlib import Path

#: The package's folder (the repository root, or Blender's extension folder).
PACKAGE_ROOT = Path(__file__).resolve().parents[2]

# Imports the package from PACKAGE_ROOT under the name ``genvfx`` whatever the folder is
# called (Blender installs it as ``bl_ext.<repo>.genvfx``; a checkout may be named anything).
IMPORT_PACKAGE = (
    "import importlib.util, sys\n"
    "root = sys.argv[1]\n"
    "spec = importlib.util.spec_from_file_location('genvfx', root + '/__init__.py', submodule_search_locations=[root])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "sys.modules['genvfx'] = module\n"
    "spec.loader.exec_module(module)\n"
)
