"""The base of the plugin's pydantic models: each one's validator and serializer are built when first used.

Building them is most of what importing the plugin costs (about 0.25 s for some 40 models on a 2-core machine),
and a run uses few of them: a replayed suite never validates a judge's verdict, a comparison or a statistics
section. Pydantic builds a deferred model on its first validation or serialization, under its own lock from
pydantic 2.14 on (pydantic#13438). Before that, two threads that first use one model together could race
(one of them validating with the parent's validator), and the call pool's threads do use models: with an older
pydantic every model is built as it is defined, as pydantic does by default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.version import VERSION


def builds_under_lock(version: str) -> bool:
    """Whether this pydantic version builds a deferred model under its lock (2.14 and later)."""
    major, minor = (int("".join(c for c in part if c.isdigit()) or 0) for part in version.split(".")[:2])
    return (major, minor) >= (2, 14)


#: Whether the plugin's models are built on first use: where pydantic does that safely across threads.
DEFERRED = builds_under_lock(VERSION)


class LazyModel(BaseModel):
    """A ``BaseModel`` built on first use (where that is thread-safe); subclasses set their own config on top."""

    model_config = ConfigDict(defer_build=DEFERRED)
