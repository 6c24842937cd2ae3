"""One exception family for both clients.

Messages never contain a token: they are built from the status, the call's path and the vendor's
short error text only.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base of every error raised by the API clients."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ApiError):
    """The token was rejected (401) or lacks a permission (403)."""

    @property
    def missing_scopes(self) -> bool:
        """403: the token is valid but not allowed to do this (Fleet scopes)."""
        return self.status == 403


class PaymentRequiredError(ApiError):
    """402: the Teslemetry subscription or credits are exhausted."""


class RateLimitedError(ApiError):
    """429: wait `retry_after` seconds (None when the server did not say)."""

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ApiConnectionError(ApiError):
    """The service could not be reached or failed on its side (timeouts, DNS, 5xx, 408, 540)."""


class RegionError(ApiError):
    """421: the Fleet account lives in another region."""


class BadResponseError(ApiError):
    """The service answered, but not with something we can use (HTML, truncated JSON, wrong shape,
    or a 4xx other than the ones above)."""
