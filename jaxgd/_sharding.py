"""Which devices a sweep runs on, and the one-axis mesh that splits the start axis over them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["AXIS", "mesh_for", "replicated", "resolve_devices", "split"]

#: Name of the mesh axis the start axis is split along.
AXIS = "start"


def resolve_devices(devices: Sequence[jax.Device] | None) -> tuple[jax.Device, ...]:
    """The devices to run on: the given ones, checked, or every device of this process."""
    if devices is None:
        return tuple(jax.local_devices())
    if isinstance(devices, jax.Device):
        devices = [devices]
    if isinstance(devices, Mapping | AbstractSet):
        # A dict's keys or a set's order would decide the split silently.
        raise TypeError(
            f"devices must be a list or tuple of jax.Device (its order decides which lanes "
            f"go where), e.g. jax.devices()[:2]; got {type(devices).__name__}."
        )
    try:
        devs = tuple(devices)
    except TypeError:
        raise TypeError(
            f"devices must be a sequence of jax.Device (e.g. jax.devices()[:2]); got "
            f"{type(devices).__name__}."
        ) from None
    if not devs:
        raise ValueError("devices is empty; pass at least one device, or None for all of them.")
    bad = [d for d in devs if not isinstance(d, jax.Device)]
    if bad:
        raise TypeError(
            f"devices must hold jax.Device objects (from jax.devices()); got "
            f"{type(bad[0]).__name__}."
        )
    if len(set(devs)) != len(devs):
        raise ValueError("devices lists a device twice; pass each device once.")
    here = jax.process_index()
    foreign = [d for d in devs if d.process_index != here]
    if foreign:
        raise ValueError(
            f"devices includes {foreign[0]}, which belongs to process {foreign[0].process_index}, "
            f"not this one ({here}). jaxgd.sweep runs on this process's devices "
            "(jax.local_devices()); to split a sweep across processes use jaxgd.distributed.sweep."
        )
    return devs


def mesh_for(devices: Sequence[jax.Device]) -> Mesh:
    """A one-axis mesh over ``devices``. Equal meshes hash equal, so jit's cache reuses code."""
    return Mesh(np.asarray(devices, dtype=object), (AXIS,))


def split(mesh: Mesh) -> NamedSharding:
    """Rows split into contiguous blocks, one per device."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """The same whole array on every device."""
    return NamedSharding(mesh, PartitionSpec())
