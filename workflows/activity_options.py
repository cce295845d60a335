"""The keyword options a workflow passes to ``workflow.execute_activity_method``, as a
TypedDict so that ``**QUICK`` keeps its types (a plain dict would be ``dict[str, object]``,
which matches no overload)."""

from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy


class ActivityOptions(TypedDict, total=False):
    start_to_close_timeout: timedelta
    heartbeat_timeout: timedelta
    retry_policy: RetryPolicy
