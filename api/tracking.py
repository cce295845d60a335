"""The request's context for analytics (address, agent, referrer, country, session)."""

from fastapi import Request

from domain.analytics import RequestContext, request_context


def context_of(request: Request, user_id: int | None) -> RequestContext:
    return request_context(
        client_host=request.client.host if request.client else None,
        headers=request.headers,
        user_id=user_id,
    )
