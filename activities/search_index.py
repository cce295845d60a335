"""Keeping the search index in step with what is published."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from integrations.search import SearchBackend, reindex_module


@dataclass
class SearchIndexActivities:
    sessions: async_sessionmaker[AsyncSession]
    search: SearchBackend

    @activity.defn(name="search.index_module")
    async def index_module(self, module_id: int) -> None:
        """Index a published public module, or drop it from the index otherwise."""
        async with self.sessions() as session:
            await reindex_module(self.search, session, module_id)
