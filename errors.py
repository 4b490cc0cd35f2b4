"""Errors a compositor can act on: a kind, a message, a hint and (maybe) a frame."""

from __future__ import annotations


class GenVFXError(Exception):
    """An error with a kind (``bad_input``, ``model``, ``worker``, ``cancelled``…),
    a message in the user's words and a hint on what to try."""

    def __init__(self, kind: str, message: str, hint: str = "", frame: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.hint = hint
        self.frame = frame

    def __str__(self) -> str:
        where = f" (frame {self.frame})" if self.frame is not None else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{self.message}{where}{hint}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "hint": self.hint, "frame": self.frame}

    @classmethod
    def from_dict(cls, data: dict) -> "GenVFXError":
        error_class = JobCancelled if data.get("kind") == "cancelled" else cls
        error = error_class.__new__(error_class)
        GenVFXError.__init__(error, data.get("kind", "error"), data.get("message", ""),
                             data.get("hint", ""), data.get("frame"))
        return error


class BadInput(GenVFXError):
    def __init__(self, message: str, hint: str = "", frame: int | None = None):
        super().__init__("bad_input", message, hint, frame)


class JobCancelled(GenVFXError):
    def __init__(self, message: str = "Cancelled", frame: int | None = None):
        super().__init__("cancelled", message, "", frame)
