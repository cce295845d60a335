"""Categories: the public tree, and the admin's management of it."""

from fastapi import APIRouter, Response, status

from api.deps import AdminPrincipal, SessionDep
from api.params import IdPath
from api.routers.category_schemas import CategoryIn, CategoryNode, CategoryOut, CategoryUpdateIn
from domain.categories import build_tree, check_new_parent
from domain.errors import Conflict, DomainError, NotFound
from domain.slugs import slugify
from models.module import MarketplaceCategory
from models.repositories import audit, categories

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
async def category_tree(session: SessionDep):
    """Active categories as a tree, in display order."""
    return _tree(await categories.list_categories(session, active_only=True))


@admin.get("", response_model=list[CategoryNode])
async def all_categories(_: AdminPrincipal, session: SessionDep):
    return _tree(await categories.list_categories(session, active_only=False))


async def _check_parent(session, category_id: int | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    if await categories.get_category(session, parent_id) is None:
        raise DomainError("unknown_parent", f"there is no category {parent_id}")
    if category_id is not None:
        check_new_parent(category_id, await categories.ancestor_ids(session, parent_id))


async def _get(session, category_id: int) -> MarketplaceCategory:
    category = await categories.get_category(session, category_id)
    if category is None:
        raise NotFound("category_not_found", "no such category")
    return category


@admin.post("", status_code=status.HTTP_201_CREATED, response_model=CategoryOut)
async def create_category(body: CategoryIn, principal: AdminPrincipal, session: SessionDep):
    await _check_parent(session, None, body.parent_id)
    slug = body.slug or slugify(body.name)
    if not slug:
        raise DomainError("slug_required", "choose a slug: the name has no usable letters")
    category = MarketplaceCategory(**body.model_dump(exclude={"slug"}), slug=slug)
    await categories.save_category(session, category)
    await audit.record(
        session,
        actor_id=principal.user.id,
        action="category.create",
        entity_type="category",
        entity_id=category.id,
        changes=body.model_dump(),
    )
    await session.refresh(category)
    return category


@admin.put("/{category_id}", response_model=CategoryOut)
async def update_category(
    category_id: IdPath, body: CategoryUpdateIn, principal: AdminPrincipal, session: SessionDep
):
    category = await _get(session, category_id)
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "slug", "order", "is_active"):
        if field in changes and changes[field] is None:
            raise DomainError("field_required", f"{field} cannot be empty")
    if "parent_id" in changes:
        await _check_parent(session, category.id, changes["parent_id"])
    for field, value in changes.items():
        setattr(category, field, value)
    await categories.save_category(session, category)
    await audit.record(
        session,
        actor_id=principal.user.id,
        action="category.update",
        entity_type="category",
        entity_id=category.id,
        changes=changes,
    )
    await session.refresh(category)
    return category


@admin.delete("/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: IdPath, principal: AdminPrincipal, session: SessionDep):
    """Only an empty category can go; deactivate one that still holds modules."""
    category = await _get(session, category_id)
    if await categories.category_in_use(session, category.id):
        raise Conflict(
            "category_in_use", "the category has subcategories or modules; deactivate it instead"
        )
    await categories.delete_category(session, category)
    await audit.record(
        session,
        actor_id=principal.user.id,
        action="category.delete",
        entity_type="category",
        entity_id=category_id,
        changes={"slug": category.slug},
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
