"""Setup wizard: price source (Amber key and site, or a fixed plan) → Tesla provider → energy site;
reauth and reconfigure."""

from __future__ import annotations

from collections.abc import Mapping
import logging
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .api.amber import AMBER_BASE_URL, AmberClient
from .api.errors import ApiError, AuthError, PaymentRequiredError, RateLimitedError
from .api.models import AmberSite, EnergySite
from .api.tesla import FLEET_BASE_URLS, TESLEMETRY_BASE_URL, TeslaEnergyClient
from .const import (
    CONF_AMBER_BASE_URL,
    CONF_AMBER_SITE_ID,
    CONF_AMBER_TOKEN,
    CONF_ENERGY_SITE_ID,
    CONF_FIXED_PLAN,
    CONF_PRICE_SOURCE,
    CONF_TESLA_BASE_URL,
    CONF_TESLA_PROVIDER,
    CONF_TESLA_REGION,
    CONF_TESLEMETRY_TOKEN,
    CONF_TOKEN,
    DOMAIN,
    FLEET_SCOPES,
    PRICE_SOURCE_AMBER,
    PRICE_SOURCE_FIXED,
    PROVIDER_FLEET,
    PROVIDER_TESLEMETRY,
    REAUTH_SERVICE,
)
from .options_flow import TeslaAmberSyncOptionsFlow
from .plan_templates import TEMPLATES, starter_plan
from .plans import PlanError, load_plan

if TYPE_CHECKING:
    from .data import TeslaAmberSyncConfigEntry

_LOGGER = logging.getLogger(__name__)

PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
RATE = NumberSelector(NumberSelectorConfig(min=0, max=100, step="any", mode=NumberSelectorMode.BOX))
CONF_PLAN_TEMPLATE = "plan_template"
CONF_PLAN_NAME = "plan_name"
CONF_PLAN_UTILITY = "utility"
CONF_SUPPLY_CHARGE = "daily_supply_charge"
CONF_PEAK_RATE = "peak_rate"
CONF_SHOULDER_RATE = "shoulder_rate"
CONF_OFF_PEAK_RATE = "off_peak_rate"
CONF_FEED_IN_RATE = "feed_in_rate"
URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
# The API address fields (the bundled simulator, or another compatible API) sit in a collapsed
# section: Home Assistant 2026.11 has no Advanced mode any more (`show_advanced_options` is
# always true there), and a folded section keeps them out of most users' way on every version.
SECTION_ADVANCED = "advanced"


def _advanced(field: str) -> dict[Any, Any]:
    """The collapsed section holding one optional API address."""
    return {
        vol.Optional(SECTION_ADVANCED): section(
            vol.Schema({vol.Optional(field): URL}), {"collapsed": True}
        )
    }


def _advanced_value(user_input: Mapping[str, Any], field: str) -> str | None:
    """The API address from the collapsed section, or None when left empty."""
    value: str | None = (user_input.get(SECTION_ADVANCED) or {}).get(field)
    return value or None


def _amber_error(err: ApiError) -> str:
    if isinstance(err, AuthError):
        return "invalid_auth"
    if isinstance(err, RateLimitedError):
        return "rate_limited"
    return "cannot_connect"


def _tesla_error(err: ApiError) -> str:
    if isinstance(err, AuthError):
        return "missing_scopes" if err.missing_scopes else "invalid_auth"
    if isinstance(err, PaymentRequiredError):
        return "payment_required"
    if isinstance(err, RateLimitedError):
        return "rate_limited"
    return "cannot_connect"


def _fleet_sign_in_lapsed(entry_data: Mapping[str, Any]) -> bool:
    """A Tesla Fleet entry whose access token has expired (so a refresh was due)."""
    if entry_data.get(CONF_TESLA_PROVIDER) != PROVIDER_FLEET:
        return False
    expires_at = (entry_data.get(CONF_TOKEN) or {}).get("expires_at", 0)
    # Home Assistant refreshes a token that expires within 20 s (CLOCK_OUT_OF_SYNC_MAX_SEC).
    return bool(float(expires_at) < time.time() + 20)


def _site_label(site: AmberSite) -> str:
    network = f" ({site.network})" if site.network else ""
    return f"{site.nmi or site.id}{network}"


def _energy_site_label(site: EnergySite) -> str:
    return f"{site.site_name} ({site.energy_site_id})"


class TeslaAmberSyncConfigFlow(config_entry_oauth2_flow.AbstractOAuth2FlowHandler, domain=DOMAIN):
    """The setup wizard."""

    DOMAIN = DOMAIN
    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        super().__init__()
        self._amber_token: str | None = None
        self._amber_base_url: str | None = None
        self._amber_sites: list[AmberSite] = []
        self._amber_site_id: str | None = None
        self._tesla_base_url: str | None = None
        self._tesla_data: dict[str, Any] = {}
        self._energy_sites: list[EnergySite] = []
        self._fixed_plan: dict[str, Any] | None = None

    @property
    def logger(self) -> logging.Logger:
        """Logger the OAuth helper reports through."""
        return _LOGGER

    @property
    def extra_authorize_data(self) -> dict[str, Any]:
        """Tesla needs the scopes on the authorize URL; `prompt=login` lets users switch account."""
        return {"scope": " ".join(FLEET_SCOPES), "prompt": "login"}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: Any) -> TeslaAmberSyncOptionsFlow:
        """Options: forecast source, spike protection, polling."""
        return TeslaAmberSyncOptionsFlow()

    # --- Amber -------------------------------------------------------------------------------

    def _amber_client(self, token: str, base_url: str | None) -> AmberClient:
        return AmberClient(
            async_get_clientsession(self.hass), token, base_url=base_url or AMBER_BASE_URL
        )

    async def _check_amber(
        self, token: str, base_url: str | None
    ) -> tuple[list[AmberSite], dict[str, str]]:
        """Active sites for the key, or the form errors explaining why there are none."""
        try:
            sites = await self._amber_client(token, base_url).sites()
        except ApiError as err:
            _LOGGER.debug("Amber key check failed: %s", err)
            return [], {"base": _amber_error(err)}
        active = [site for site in sites if site.is_active]
        if not active:
            return [], {"base": "no_active_sites"}
        return active, {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Where prices come from: Amber, or a fixed time-of-use plan."""
        return self.async_show_menu(
            step_id="user", menu_options=[PRICE_SOURCE_AMBER, PRICE_SOURCE_FIXED]
        )

    async def async_step_amber(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the Amber API key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_AMBER_TOKEN].strip()
            base_url = _advanced_value(user_input, CONF_AMBER_BASE_URL)
            sites, errors = await self._check_amber(token, base_url)
            if not errors:
                self._amber_token, self._amber_base_url, self._amber_sites = (
                    token,
                    base_url,
                    sites,
                )
                if len(sites) == 1:
                    self._amber_site_id = sites[0].id
                    return await self.async_step_tesla_provider()
                return await self.async_step_amber_site()
        schema = {vol.Required(CONF_AMBER_TOKEN): PASSWORD, **_advanced(CONF_AMBER_BASE_URL)}
        return self.async_show_form(
            step_id="amber",
            data_schema=vol.Schema(schema),
            errors=errors,
            description_placeholders={"amber_url": "https://app.amber.com.au/developers"},
        )

    async def async_step_fixed_plan(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A fixed plan: start from a common shape; every detail can be edited afterwards."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = starter_plan(
                user_input[CONF_PLAN_TEMPLATE],
                name=user_input[CONF_PLAN_NAME].strip(),
                utility=(user_input.get(CONF_PLAN_UTILITY) or "").strip(),
                daily_supply_charge=float(user_input[CONF_SUPPLY_CHARGE]),
                peak=float(user_input[CONF_PEAK_RATE]),
                shoulder=float(user_input[CONF_SHOULDER_RATE]),
                off_peak=float(user_input[CONF_OFF_PEAK_RATE]),
                sell=float(user_input[CONF_FEED_IN_RATE]),
            )
            try:
                load_plan(data)
            except PlanError:
                errors["base"] = "invalid_plan"
            else:
                self._fixed_plan = data
                return await self.async_step_tesla_provider()
        defaults = user_input or {}
        fields: dict[Any, Any] = {
            vol.Required(
                CONF_PLAN_TEMPLATE, default=defaults.get(CONF_PLAN_TEMPLATE, TEMPLATES[0])
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(TEMPLATES),
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_PLAN_TEMPLATE,
                )
            ),
            vol.Required(
                CONF_PLAN_NAME, default=defaults.get(CONF_PLAN_NAME, "My time-of-use plan")
            ): TextSelector(),
            vol.Optional(CONF_PLAN_UTILITY, default=defaults.get(CONF_PLAN_UTILITY, "")): (
                TextSelector()
            ),
        }
        for key, value in (
            (CONF_SUPPLY_CHARGE, 1.0),
            (CONF_PEAK_RATE, 0.55),
            (CONF_SHOULDER_RATE, 0.35),
            (CONF_OFF_PEAK_RATE, 0.22),
            (CONF_FEED_IN_RATE, 0.05),
        ):
            fields[vol.Required(key, default=defaults.get(key, value))] = RATE
        return self.async_show_form(
            step_id="fixed_plan", data_schema=vol.Schema(fields), errors=errors
        )

    def _amber_site_schema(self, default: str | None) -> vol.Schema:
        options = [
            SelectOptionDict(value=site.id, label=_site_label(site)) for site in self._amber_sites
        ]
        return vol.Schema(
            {
                vol.Required(CONF_AMBER_SITE_ID, default=default or options[0]["value"]): (
                    SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                )
            }
        )

    async def async_step_amber_site(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of several active Amber sites."""
        if user_input is not None:
            self._amber_site_id = user_input[CONF_AMBER_SITE_ID]
            return await self.async_step_tesla_provider()
        return self.async_show_form(step_id="amber_site", data_schema=self._amber_site_schema(None))

    # --- Tesla -------------------------------------------------------------------------------

    async def async_step_tesla_provider(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Teslemetry or Tesla Fleet."""
        return self.async_show_menu(
            step_id="tesla_provider", menu_options=[PROVIDER_TESLEMETRY, PROVIDER_FLEET]
        )

    def _tesla_client(self, token: str, base_url: str) -> TeslaEnergyClient:
        async def provide() -> str:
            return token

        return TeslaEnergyClient(async_get_clientsession(self.hass), provide, base_url=base_url)

    async def _check_tesla(self, token: str, base_url: str) -> tuple[list[EnergySite], str | None]:
        try:
            sites = await self._tesla_client(token, base_url).products()
        except ApiError as err:
            # ApiError texts never hold the token (api/http.py strips an echoed one).
            _LOGGER.debug("Tesla token check failed: %s", err)
            return [], _tesla_error(err)
        if not sites:
            return [], "no_energy_sites"
        return sites, None

    async def async_step_teslemetry(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Teslemetry token and find the energy sites it can see."""
        errors: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_TESLEMETRY_TOKEN].strip()
            base_url = _advanced_value(user_input, CONF_TESLA_BASE_URL)
            sites, error = await self._check_tesla(token, base_url or TESLEMETRY_BASE_URL)
            if error is None:
                self._tesla_base_url = base_url
                self._tesla_data = {
                    CONF_TESLA_PROVIDER: PROVIDER_TESLEMETRY,
                    CONF_TESLEMETRY_TOKEN: token,
                }
                self._energy_sites = sites
                return await self._after_energy_sites()
            errors["base"] = error
        schema = {vol.Required(CONF_TESLEMETRY_TOKEN): PASSWORD, **_advanced(CONF_TESLA_BASE_URL)}
        return self.async_show_form(
            step_id="teslemetry",
            data_schema=vol.Schema(schema),
            errors=errors,
            description_placeholders={"teslemetry_url": "https://teslemetry.com/console"},
        )

    async def async_step_fleet(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Tesla Fleet: sign in with Home Assistant's OAuth2 (application credentials)."""
        return await self.async_step_pick_implementation()

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Signed in to Tesla: find the account's region and its energy sites."""
        token = data[CONF_TOKEN]["access_token"]
        client = self._tesla_client(token, FLEET_BASE_URLS["na"])
        try:
            region, base_url = await client.region()
            sites = await self._tesla_client(token, base_url).products()
        except ApiError as err:
            _LOGGER.debug("Tesla Fleet check failed: %s", err)
            return self.async_abort(reason=_tesla_error(err))
        if self.source == SOURCE_REAUTH:
            entry = self._get_reauth_entry()
            if entry.data[CONF_ENERGY_SITE_ID] not in {s.energy_site_id for s in sites}:
                return self.async_abort(reason="wrong_account")
            new_data = {**entry.data, **data, CONF_TESLA_REGION: region}
            if base_url == FLEET_BASE_URLS.get(region):
                new_data.pop(CONF_TESLA_BASE_URL, None)
            else:
                new_data[CONF_TESLA_BASE_URL] = base_url
            return self._save_and_reload(entry, new_data)
        if not sites:
            return self.async_abort(reason="no_energy_sites")
        self._tesla_base_url = None if base_url == FLEET_BASE_URLS.get(region) else base_url
        self._tesla_data = {CONF_TESLA_PROVIDER: PROVIDER_FLEET, CONF_TESLA_REGION: region, **data}
        self._energy_sites = sites
        return await self._after_energy_sites()

    async def _after_energy_sites(self) -> ConfigFlowResult:
        if len(self._energy_sites) == 1:
            return await self._create(self._energy_sites[0])
        return await self.async_step_energy_site()

    async def async_step_energy_site(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of several energy sites."""
        if user_input is not None:
            wanted = int(user_input[CONF_ENERGY_SITE_ID])
            site = next(s for s in self._energy_sites if s.energy_site_id == wanted)
            return await self._create(site)
        options = [
            SelectOptionDict(value=str(site.energy_site_id), label=_energy_site_label(site))
            for site in self._energy_sites
        ]
        return self.async_show_form(
            step_id="energy_site",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ENERGY_SITE_ID, default=options[0]["value"]): (
                        SelectSelector(
                            SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                        )
                    )
                }
            ),
        )

    async def _create(self, site: EnergySite) -> ConfigFlowResult:
        # One entry per Powerwall: two entries must never fight over one plan.
        await self.async_set_unique_id(str(site.energy_site_id))
        self._abort_if_unique_id_configured()
        data: dict[str, Any] = {CONF_ENERGY_SITE_ID: site.energy_site_id, **self._tesla_data}
        options: dict[str, Any] = {}
        if self._fixed_plan is not None:
            data[CONF_PRICE_SOURCE] = PRICE_SOURCE_FIXED
            options[CONF_FIXED_PLAN] = self._fixed_plan
        else:
            data[CONF_PRICE_SOURCE] = PRICE_SOURCE_AMBER
            data[CONF_AMBER_TOKEN] = self._amber_token
            data[CONF_AMBER_SITE_ID] = self._amber_site_id
        if self._amber_base_url:
            data[CONF_AMBER_BASE_URL] = self._amber_base_url
        if self._tesla_base_url:
            data[CONF_TESLA_BASE_URL] = self._tesla_base_url
        return self.async_create_entry(title=site.site_name, data=data, options=options)

    # --- reauth --------------------------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """A token stopped working: ask for the one that failed (or let the user say which)."""
        service = entry_data.get(REAUTH_SERVICE)
        if entry_data.get(CONF_PRICE_SOURCE) == PRICE_SOURCE_FIXED:
            service = "tesla"  # a fixed plan has no Amber key
        elif service is None and _fleet_sign_in_lapsed(entry_data):
            # Home Assistant 2026.11 starts this reauth itself, without our hint, when Tesla
            # refuses to refresh the Fleet token (in OAuth2Session.async_ensure_token_valid,
            # before our code sees the error): the Tesla sign-in is what failed.
            service = "tesla"
        if service == "amber":
            return await self.async_step_reauth_amber()
        if service == "tesla":
            return await self._reauth_tesla(entry_data)
        return self.async_show_menu(
            step_id="reauth",
            menu_options=["reauth_amber", "reauth_tesla"],
            description_placeholders={"name": self._get_reauth_entry().title},
        )

    async def async_step_reauth_tesla(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Menu choice: the Tesla credential."""
        return await self._reauth_tesla(self._get_reauth_entry().data)

    async def _reauth_tesla(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        if entry_data.get(CONF_TESLA_PROVIDER) == PROVIDER_FLEET:
            return await self.async_step_reauth_fleet()
        return await self.async_step_reauth_teslemetry()

    async def async_step_reauth_amber(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New Amber key; it must still see the configured site."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_AMBER_TOKEN].strip()
            sites, errors = await self._check_amber(token, entry.data.get(CONF_AMBER_BASE_URL))
            if not errors:
                if entry.data[CONF_AMBER_SITE_ID] not in {s.id for s in sites}:
                    errors["base"] = "wrong_amber_site"
                else:
                    return self._save_and_reload(entry, {**entry.data, CONF_AMBER_TOKEN: token})
        return self.async_show_form(
            step_id="reauth_amber",
            data_schema=vol.Schema({vol.Required(CONF_AMBER_TOKEN): PASSWORD}),
            errors=errors,
            description_placeholders={"amber_url": "https://app.amber.com.au/developers"},
        )

    async def async_step_reauth_teslemetry(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New Teslemetry token; it must still see the configured Powerwall."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_TESLEMETRY_TOKEN].strip()
            sites, error = await self._check_tesla(
                token, entry.data.get(CONF_TESLA_BASE_URL) or TESLEMETRY_BASE_URL
            )
            if error is not None:
                errors["base"] = error
            elif entry.data[CONF_ENERGY_SITE_ID] not in {s.energy_site_id for s in sites}:
                errors["base"] = "wrong_energy_site"
            else:
                return self._save_and_reload(entry, {**entry.data, CONF_TESLEMETRY_TOKEN: token})
        return self.async_show_form(
            step_id="reauth_teslemetry",
            data_schema=vol.Schema({vol.Required(CONF_TESLEMETRY_TOKEN): PASSWORD}),
            errors=errors,
            description_placeholders={"teslemetry_url": "https://teslemetry.com/console"},
        )

    async def async_step_reauth_fleet(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm, then sign in to Tesla again."""
        if user_input is None:
            return self.async_show_form(step_id="reauth_fleet")
        return await self.async_step_pick_implementation()

    def _save_and_reload(
        self, entry: TeslaAmberSyncConfigEntry, data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Save new connection details (the entry's new `data`) and set the entry up again
        with them; ends the reauth or reconfigure flow.

        A running entry has an update listener, and that reloads it: Home Assistant 2026.11
        reports `async_update_reload_and_abort` on entries with one ("should use it for
        scheduling a reload", to stop working in 2026.12). The listener ignores the entry's own
        data changes (token refreshes), so the flow asks for this reload. An entry that is not
        running (its set-up failed, say on the rejected key) has no listener: Home Assistant
        reloads it, as before.
        """
        if not entry.update_listeners:
            return self.async_update_reload_and_abort(entry, data=data)
        runtime = entry.runtime_data
        runtime.reload_requested = True  # before the update: the listener may run at once
        if not self.hass.config_entries.async_update_entry(entry, data=data):
            # The same details again (a key that works once more): no listener call, so
            # reload here, as Home Assistant's own update-reload-and-abort would.
            runtime.reload_requested = False
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        reason = (
            "reconfigure_successful" if self.source == SOURCE_RECONFIGURE else "reauth_successful"
        )
        return self.async_abort(reason=reason)

    # --- reconfigure ----------------------------------------------------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Replace tokens or change the Amber site; a different Powerwall needs a new entry."""
        entry = self._get_reconfigure_entry()
        teslemetry = entry.data.get(CONF_TESLA_PROVIDER) == PROVIDER_TESLEMETRY
        amber = entry.data.get(CONF_PRICE_SOURCE, PRICE_SOURCE_AMBER) == PRICE_SOURCE_AMBER
        if not amber and not teslemetry:
            # A fixed plan on Tesla Fleet has no key to replace here: the plan is edited under
            # Configure, and Tesla sign-in is renewed by re-authentication.
            return self.async_abort(reason="nothing_to_reconfigure")
        errors: dict[str, str] = {}
        if user_input is not None:
            updates: dict[str, Any] = {}
            sites: list[AmberSite] = []
            if amber:
                amber_token = (user_input.get(CONF_AMBER_TOKEN) or "").strip() or entry.data[
                    CONF_AMBER_TOKEN
                ]
                sites, errors = await self._check_amber(
                    amber_token, entry.data.get(CONF_AMBER_BASE_URL)
                )
                updates[CONF_AMBER_TOKEN] = amber_token
            new_tesla = (user_input.get(CONF_TESLEMETRY_TOKEN) or "").strip()
            if not errors and teslemetry and new_tesla:
                tesla_sites, error = await self._check_tesla(
                    new_tesla, entry.data.get(CONF_TESLA_BASE_URL) or TESLEMETRY_BASE_URL
                )
                if error is not None:
                    errors["base"] = error
                elif entry.data[CONF_ENERGY_SITE_ID] not in {s.energy_site_id for s in tesla_sites}:
                    errors["base"] = "wrong_energy_site"
                else:
                    updates[CONF_TESLEMETRY_TOKEN] = new_tesla
            if not errors:
                if not amber:
                    return self._save_and_reload(entry, {**entry.data, **updates})
                self._amber_sites = sites
                self._tesla_data = updates
                if len(sites) == 1:
                    return self._finish_reconfigure(sites[0].id)
                return await self.async_step_reconfigure_site()
        schema: dict[Any, Any] = {}
        if amber:
            schema[vol.Optional(CONF_AMBER_TOKEN)] = PASSWORD
        if teslemetry:
            schema[vol.Optional(CONF_TESLEMETRY_TOKEN)] = PASSWORD
        return self.async_show_form(
            step_id="reconfigure", data_schema=vol.Schema(schema), errors=errors
        )

    async def async_step_reconfigure_site(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the Amber site (the current one preselected)."""
        if user_input is not None:
            return self._finish_reconfigure(user_input[CONF_AMBER_SITE_ID])
        current = self._get_reconfigure_entry().data.get(CONF_AMBER_SITE_ID)
        known = {site.id for site in self._amber_sites}
        return self.async_show_form(
            step_id="reconfigure_site",
            data_schema=self._amber_site_schema(current if current in known else None),
        )

    def _finish_reconfigure(self, site_id: str) -> ConfigFlowResult:
        assert self.source == SOURCE_RECONFIGURE
        entry = self._get_reconfigure_entry()
        return self._save_and_reload(
            entry, {**entry.data, **self._tesla_data, CONF_AMBER_SITE_ID: site_id}
        )
