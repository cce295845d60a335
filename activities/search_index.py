"""Keeping the search index in step with what is published."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity

from integrations.search import SearchBackend, module_document
from models.repositories import modules


@dataclass
class SearchIndexActivities:
    sessions: async_sessionmaker
    search: SearchBackend

    @activity.defn(name="search.index_module")
    async def index_module(self, module_id: int) -> None:
        """Index a published public module, or drop it from the index otherwise."""
        async with self.sessions() as session:
            found = await modules.module_for_index(session, module_id)
        if found is None:
            await self.search.remove(module_id)
            return
        module = found[0]
        if module.status == "published" and module.visibility == "public":
            await self.search.index(module_document(*found))
        else:
            await self.search.remove(module_id)
