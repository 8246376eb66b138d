"""What the saved data depends on, as one hash: resuming checks it, the manifest records it."""

from __future__ import annotations

import hashlib
import json

# Settings that change how the data is computed but not the data (batching is bitwise neutral),
# so a run may be resumed with a different value.
NOT_FINGERPRINTED = ("batch_size",)


def data_settings(resolved: dict) -> dict:
    return {k: v for k, v in resolved.items() if k not in NOT_FINGERPRINTED}


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def fingerprint(resolved: dict) -> str:
    """sha256 of every resolved setting the saved data depends on (not of comments or batch size)."""
    return hashlib.sha256(canonical_json(data_settings(resolved)).encode()).hexdigest()
