"""Tesla Fleet sign-in through Home Assistant's application credentials."""

from __future__ import annotations

from homeassistant.components.application_credentials import AuthorizationServer
from homeassistant.core import HomeAssistant

from .const import FLEET_AUTHORIZE_URL, FLEET_TOKEN_URL


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Tesla's authorize and token endpoints."""
    return AuthorizationServer(authorize_url=FLEET_AUTHORIZE_URL, token_url=FLEET_TOKEN_URL)


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Where to register the app and which redirect URI Tesla must allow."""
    return {
        "developer_url": "https://developer.tesla.com/",
        "redirect_uri": "https://my.home-assistant.io/redirect/oauth",
    }
