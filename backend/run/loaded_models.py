"""Models loaded in the worker, kept between jobs (loading a production model takes
seconds to minutes) until the client asks to release them."""

from __future__ import annotations

from typing import Callable

from ...models import registry


class LoadedModels:
    def __init__(self):
        self._models: dict[tuple, object] = {}

    def get(self, manifest: registry.ModelManifest, device: str,
            load: Callable[[registry.ModelManifest, str], object]) -> object:
        """The model for ``manifest`` on ``device``, loaded with ``load`` the first time."""
        key = (manifest.id, manifest.hash, device)
        if key not in self._models:
            self._models[key] = load(manifest, device)
        return self._models[key]

    def __len__(self) -> int:
        return len(self._models)

    def release(self) -> None:
        """Drop every loaded model and give back what they held (GPU memory above all)."""
        self._models.clear()
        try:
            import torch
        except ImportError:
            return
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
