"""Temporal, client side: the connection every starter and worker shares, the front door the
services go through (``front_door``), and the schedules (``schedules``).

Workflow code is not here and not imported from here: the client side names workflows and
their messages by the names in ``domain.processes``."""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from domain.processes import MODULE_SLUG_ATTRIBUTE
from settings import Settings

MODULE_SLUG = SearchAttributeKey.for_keyword(MODULE_SLUG_ATTRIBUTE)
SEARCH_ATTRIBUTES = {MODULE_SLUG.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register the custom search attributes ops use to find workflows; idempotent."""
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=SEARCH_ATTRIBUTES)
        )
    except RPCError as error:
        if error.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
