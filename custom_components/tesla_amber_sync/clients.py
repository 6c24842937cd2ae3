"""Build an entry's API clients from its data, on Home Assistant's shared HTTP session."""

from __future__ import annotations

from aiohttp import ClientError, ClientResponseError
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api.amber import AMBER_BASE_URL, AmberClient
from .api.errors import ApiConnectionError, AuthError, RateLimitedError
from .api.http import retry_after_seconds
from .api.tesla import FLEET_BASE_URLS, TESLEMETRY_BASE_URL, TeslaEnergyClient
from .const import (
    CONF_AMBER_BASE_URL,
    CONF_AMBER_TOKEN,
    CONF_TESLA_BASE_URL,
    CONF_TESLA_PROVIDER,
    CONF_TESLA_REGION,
    CONF_TESLEMETRY_TOKEN,
    PROVIDER_FLEET,
)


def build_amber_client(hass: HomeAssistant, entry: ConfigEntry) -> AmberClient:
    """Amber client for the entry's key."""
    return AmberClient(
        async_get_clientsession(hass),
        entry.data[CONF_AMBER_TOKEN],
        base_url=entry.data.get(CONF_AMBER_BASE_URL) or AMBER_BASE_URL,
    )


async def build_tesla_client(hass: HomeAssistant, entry: ConfigEntry) -> TeslaEnergyClient:
    """Teslemetry (a fixed token) or Tesla Fleet (OAuth2, refreshed by Home Assistant).

    Raises ValueError when the Fleet application credentials were removed.
    """
    session = async_get_clientsession(hass)
    override = entry.data.get(CONF_TESLA_BASE_URL)
    if entry.data.get(CONF_TESLA_PROVIDER) != PROVIDER_FLEET:
        token = entry.data[CONF_TESLEMETRY_TOKEN]

        async def teslemetry_token() -> str:
            return str(token)

        return TeslaEnergyClient(
            session, teslemetry_token, base_url=override or TESLEMETRY_BASE_URL
        )

    implementation = await config_entry_oauth2_flow.async_get_config_entry_implementation(
        hass, entry
    )
    oauth = config_entry_oauth2_flow.OAuth2Session(hass, entry, implementation)

    async def fleet_token() -> str:
        # Tesla's refresh tokens are single use: OAuth2Session stores the new one in the entry.
        try:
            await oauth.async_ensure_token_valid()
        except ClientResponseError as err:
            if err.status in (400, 401):  # invalid_grant: the sign-in itself is no longer good
                raise AuthError(
                    f"Tesla Fleet token refresh rejected (HTTP {err.status})", status=401
                ) from None
            if err.status == 429:
                raise RateLimitedError(
                    "Tesla Fleet token refresh rate-limited (HTTP 429)",
                    retry_after=retry_after_seconds(err.headers) if err.headers else None,
                ) from None
            # Anything else (408, 5xx, ...) is worth trying again later, not a new sign-in.
            raise ApiConnectionError(
                f"Tesla Fleet token refresh failed (HTTP {err.status})", status=err.status
            ) from None
        except (ClientError, TimeoutError) as err:
            raise ApiConnectionError(
                f"Tesla Fleet token refresh failed ({type(err).__name__})"
            ) from None
        return str(oauth.token["access_token"])

    @callback
    def moved(region: str, base_url: str) -> None:
        data = {**entry.data, CONF_TESLA_REGION: region}
        if base_url != FLEET_BASE_URLS.get(region):
            data[CONF_TESLA_BASE_URL] = base_url
        else:
            data.pop(CONF_TESLA_BASE_URL, None)  # an old override must not send us back
        hass.config_entries.async_update_entry(entry, data=data)

    region = entry.data.get(CONF_TESLA_REGION, "na")
    return TeslaEnergyClient(
        session,
        fleet_token,
        base_url=override or FLEET_BASE_URLS.get(region, FLEET_BASE_URLS["na"]),
        follow_region=True,
        on_region_change=moved,
    )
