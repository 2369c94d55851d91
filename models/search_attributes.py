"""The custom search attributes nurture sets on every enrollment workflow (Keyword): which are set
when, and what each upsert costs, in docs/architecture.md (Search attributes)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

SEQUENCE = SearchAttributeKey.for_keyword("NurtureSequence")
COHORT = SearchAttributeKey.for_keyword("NurtureCohort")
STEP = SearchAttributeKey.for_keyword("NurtureStep")
STATUS = SearchAttributeKey.for_keyword("NurtureStatus")

ALL = (SEQUENCE, COHORT, STEP, STATUS)

__all__ = ["ALL", "COHORT", "SEQUENCE", "STATUS", "STEP"]
