"""The category tree: building it from flat rows and keeping it acyclic."""

from collections.abc import Callable, Iterable
from typing import TypeVar

from domain.errors import DomainError

T = TypeVar("T")
N = TypeVar("N")


def build_tree(
    rows: Iterable[T],
    *,
    key: Callable[[T], int],
    parent: Callable[[T], int | None],
    make_node: Callable[[T, list[N]], N],
) -> list[N]:
    """Nest rows under their parents, keeping the input order among siblings.

    A row whose parent is not among ``rows`` (for example an inactive one) is left out
    together with its subtree, so hiding a category hides what is under it.
    """
    rows = list(rows)
    children: dict[int | None, list[T]] = {}
    for row in rows:
        children.setdefault(parent(row), []).append(row)

    def nodes(parent_key: int | None, seen: frozenset[int]) -> list[N]:
        return [
            make_node(row, nodes(key(row), seen | {key(row)}))
            for row in children.get(parent_key, [])
            if key(row) not in seen
        ]

    return nodes(None, frozenset())


def check_new_parent(category_id: int, parent_ancestry: list[int]) -> None:
    """Refuse a parent that is the category itself or one of its descendants."""
    if category_id in parent_ancestry:
        raise DomainError("category_cycle", "a category cannot sit under itself or its children")
