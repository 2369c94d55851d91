"""The custom search attributes nurture sets on every enrollment workflow (Keyword): which are set
when, and what each upsert costs, in docs/architecture.md (Search attributes)."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError

SEQUENCE = SearchAttributeKey.for_keyword("NurtureSequence")
COHORT = SearchAttributeKey.for_keyword("NurtureCohort")
STEP = SearchAttributeKey.for_keyword("NurtureStep")
STATUS = SearchAttributeKey.for_keyword("NurtureStatus")

ALL = (SEQUENCE, COHORT, STEP, STATUS)


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register them on a server started without them (the time-skipping test server, which
    rejects unknown ones); `nurture dev` starts its dev server with them."""
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={
                    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in ALL
                },
            )
        )
    except RPCError as err:
        if "already" not in str(err).lower():
            raise


__all__ = ["ALL", "COHORT", "SEQUENCE", "STATUS", "STEP", "register_search_attributes"]
