"""How an API failure becomes a coordinator outcome: reauth, a repair issue, or a quiet retry."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import UpdateFailed

from .api.errors import ApiError, AuthError, PaymentRequiredError
from .const import DOMAIN, REAUTH_SERVICE
from .issues import (
    ISSUE_MISSING_SCOPES,
    ISSUE_PAYMENT_REQUIRED,
    clear_issue,
    raise_issue,
)


def translate(
    hass: HomeAssistant, entry: ConfigEntry, err: ApiError, service: str
) -> ConfigEntryAuthFailed | UpdateFailed:
    """The exception a coordinator should raise for `err` from `service` ("amber"/"tesla").

    A rejected token starts reauth for exactly that service; Tesla's 402/403 are things the
    user must fix elsewhere, so they become repair issues rather than reauth loops.
    """
    if isinstance(err, AuthError) and not (service == "tesla" and err.missing_scopes):
        entry.async_start_reauth(hass, data={REAUTH_SERVICE: service})
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key=f"{service}_auth_failed",
        )
    if isinstance(err, AuthError):
        raise_issue(hass, ISSUE_MISSING_SCOPES, entry.entry_id)
    elif isinstance(err, PaymentRequiredError):
        raise_issue(hass, ISSUE_PAYMENT_REQUIRED, entry.entry_id)
    return UpdateFailed(str(err))


def tesla_ok(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A Tesla call succeeded: subscription and scope issues are over."""
    clear_issue(hass, ISSUE_PAYMENT_REQUIRED, entry.entry_id)
    clear_issue(hass, ISSUE_MISSING_SCOPES, entry.entry_id)
