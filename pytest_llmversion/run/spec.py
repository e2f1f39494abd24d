"""What collection decides for one item: its role, its case, the marker's arguments, and (once the item
exists) the golden it reads. The value behind ``[current]`` / ``[case-candidate]`` in a test id."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pytest_llmversion.run.cases import Case
from pytest_llmversion.run.goldens import GoldenKey
from pytest_llmversion.run.marker import MarkerSpec
from pytest_llmversion.verdict import Role

ItemRole = Role
Mode = Literal["replay", "live", "record"]


@dataclass(frozen=True)
class ItemSpec:
    role: ItemRole
    case: Case | None
    marker: MarkerSpec
    #: Set when pytest has built the item (the golden's name needs the test's full id).
    key: GoldenKey | None = None

    @property
    def id(self) -> str:
        return f"{self.case.id}-{self.role}" if self.case else self.role

    @property
    def tags(self) -> list[str]:
        return sorted({*self.marker.tags, *(self.case.tags if self.case else ())})

    def keyed(self, key: GoldenKey) -> ItemSpec:
        return replace(self, key=key)

    @property
    def golden_key(self) -> GoldenKey:
        assert self.key is not None, "the golden key is set when the item is collected"
        return self.key

    def __repr__(self) -> str:
        return self.id
