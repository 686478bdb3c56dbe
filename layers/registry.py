"""All map layers by id. To add one: call `register(Layer(...))` in your module and list the module below."""
from __future__ import annotations

import importlib

from layers.base import Layer

_LAYERS: dict[str, Layer] = {}

# One line per module that registers layers when imported.
LAYER_MODULES = (
    "layers.incidence",
    "layers.cases",
    "layers.heat",
    "layers.institutions",
    "layers.signals",
    "layers.tasks",
    "layers.assists",
    "layers.exposure_places",
    "layers.contact_streets",
    "layers.hotspots",
    "layers.teams",
    "layers.resources",
    "layers.incidents",
    "layers.coverage",
    "layers.schools",
    "layers.pharmacies",
    "layers.opinion",
    "layers.weather",
)


def register(layer: Layer) -> Layer:
    """Add `layer` to the catalogue (re-registering the same id replaces it)."""
    _LAYERS[layer.id] = layer
    return layer


def _load() -> None:
    for name in LAYER_MODULES:
        importlib.import_module(name)


def all_layers() -> dict[str, Layer]:
    """Every registered layer, by id, in registration order."""
    _load()
    return dict(_LAYERS)


def get_layer(layer_id: str) -> Layer | None:
    """The layer with this id, or None."""
    return all_layers().get(layer_id)
