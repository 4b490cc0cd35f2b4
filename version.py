"""genvfx's version, on the ground floor: every module that names it imports it from here."""

__version__ = "0.1.0"
