"""Categories: the public tree, and the admin's management of it."""

from fastapi import APIRouter, Response, status

from api.deps import AdminPrincipal, SessionDep
from api.params import IdPath
from api.schemas.categories import CategoryIn, CategoryNode, CategoryOut, CategoryUpdateIn
from domain.categories import build_tree
from models.module import MarketplaceCategory
from services import catalog

public = APIRouter(prefix="/api/v1/marketplace/categories", tags=["discovery"])
admin = APIRouter(prefix="/api/v1/admin/marketplace/categories", tags=["admin"])


def _tree(rows: list[tuple[MarketplaceCategory, int]]) -> list[CategoryNode]:
    return build_tree(
        rows,
        key=lambda row: row[0].id,
        parent=lambda row: row[0].parent_id,
        make_node=lambda row, kids: CategoryNode(
            **CategoryOut.model_validate(row[0]).model_dump(),
            module_count=row[1],
            children=kids,
        ),
    )


@public.get("", response_model=list[CategoryNode])
async def category_tree(session: SessionDep) -> list[CategoryNode]:
    """Active categories as a tree, in display order."""
    return _tree(await catalog.category_rows(session, active_only=True))


@admin.get("", response_model=list[CategoryNode])
async def all_categories(_: AdminPrincipal, session: SessionDep) -> list[CategoryNode]:
    return _tree(await catalog.category_rows(session, active_only=False))


@admin.post("", status_code=status.HTTP_201_CREATED, response_model=CategoryOut)
async def create_category(
    body: CategoryIn, principal: AdminPrincipal, session: SessionDep
) -> MarketplaceCategory:
    return await catalog.create_category(session, body.model_dump(), actor_id=principal.user.id)


@admin.put("/{category_id}", response_model=CategoryOut)
async def update_category(
    category_id: IdPath, body: CategoryUpdateIn, principal: AdminPrincipal, session: SessionDep
) -> MarketplaceCategory:
    return await catalog.update_category(
        session, category_id, body.model_dump(exclude_unset=True), actor_id=principal.user.id
    )


@admin.delete("/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(
    category_id: IdPath, principal: AdminPrincipal, session: SessionDep
) -> Response:
    """Only an empty category can go; deactivate one that still holds modules."""
    await catalog.delete_category(session, category_id, actor_id=principal.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
