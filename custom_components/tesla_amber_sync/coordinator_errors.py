"""How an API failure becomes an outcome: reauth, a repair issue, or a quiet retry.

Tesla's 402 (subscription or credits) and 403 (a missing permission) are things the user fixes
elsewhere, so they become repair issues. They can hit one kind of call and not another (a token
may read but not command), so each issue tracks the calls that fail and clears only when all of
those have succeeded again, never because some other call worked.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import UpdateFailed

from .api.errors import ApiError, AuthError, PaymentRequiredError
from .const import DOMAIN, REAUTH_SERVICE
from .issues import ISSUE_MISSING_SCOPES, ISSUE_PAYMENT_REQUIRED, clear_issue, raise_issue

_ACCESS_KEY = f"{DOMAIN}_tesla_access"


def _failing(hass: HomeAssistant, entry_id: str) -> dict[str, set[str]]:
    """Per entry: issue kind -> the Tesla calls currently failing that way."""
    by_entry: dict[str, dict[str, set[str]]] = hass.data.setdefault(_ACCESS_KEY, {})
    return by_entry.setdefault(
        entry_id, {ISSUE_PAYMENT_REQUIRED: set(), ISSUE_MISSING_SCOPES: set()}
    )


def access_issue_kind(err: ApiError) -> str | None:
    """The repair issue a Tesla error calls for, if any."""
    if isinstance(err, PaymentRequiredError):
        return ISSUE_PAYMENT_REQUIRED
    if isinstance(err, AuthError) and err.missing_scopes:
        return ISSUE_MISSING_SCOPES
    return None


def tesla_failed(hass: HomeAssistant, entry: ConfigEntry, op: str, err: ApiError) -> None:
    """Record a Tesla call's 402/403 and raise (or update) the matching repair issue."""
    kind = access_issue_kind(err)
    if kind is None:
        return
    ops = _failing(hass, entry.entry_id)[kind]
    ops.add(op)
    raise_issue(hass, kind, entry.entry_id, {"calls": ", ".join(sorted(ops))})


def tesla_ok(hass: HomeAssistant, entry: ConfigEntry, op: str) -> None:
    """A Tesla call succeeded: its 402/403 is over; an issue goes once no call has it."""
    for kind, ops in _failing(hass, entry.entry_id).items():
        if op in ops:
            ops.discard(op)
            if ops:
                raise_issue(hass, kind, entry.entry_id, {"calls": ", ".join(sorted(ops))})
            else:
                clear_issue(hass, kind, entry.entry_id)


def translate(
    hass: HomeAssistant, entry: ConfigEntry, err: ApiError, service: str, op: str = ""
) -> ConfigEntryAuthFailed | UpdateFailed:
    """The exception a coordinator should raise for `err` from `service` ("amber"/"tesla").

    A rejected token starts reauth for exactly that service (Amber has no permission levels, so
    its 403 is a rejected key too); Tesla's 402/403 become repair issues instead.
    """
    if isinstance(err, AuthError) and not (service == "tesla" and err.missing_scopes):
        entry.async_start_reauth(hass, data={REAUTH_SERVICE: service})
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key=f"{service}_auth_failed",
        )
    if service == "tesla":
        tesla_failed(hass, entry, op or service, err)
    return UpdateFailed(str(err))
