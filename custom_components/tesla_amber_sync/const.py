"""Keys and defaults shared across the integration.

Entry data keys are a contract: migrations and later features depend on them.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "tesla_amber_sync"
LOGGER = logging.getLogger(__package__)

# --- entry data -------------------------------------------------------------------------------
CONF_PRICE_SOURCE: Final = "price_source"
PRICE_SOURCE_AMBER: Final = "amber"
PRICE_SOURCE_FIXED: Final = "fixed_plan"

CONF_AMBER_TOKEN: Final = "amber_api_token"  # noqa: S105
CONF_AMBER_SITE_ID: Final = "amber_site_id"
CONF_TESLA_PROVIDER: Final = "tesla_provider"
PROVIDER_TESLEMETRY: Final = "teslemetry"
PROVIDER_FLEET: Final = "fleet"
CONF_TESLEMETRY_TOKEN: Final = "teslemetry_api_token"  # noqa: S105
CONF_ENERGY_SITE_ID: Final = "tesla_energy_site_id"
CONF_TESLA_REGION: Final = "tesla_region"
CONF_AUTH_IMPLEMENTATION: Final = "auth_implementation"
CONF_TOKEN: Final = "token"  # noqa: S105
# Optional overrides for the simulator and tests; offered only in Home Assistant's advanced mode.
CONF_AMBER_BASE_URL: Final = "amber_base_url"
CONF_TESLA_BASE_URL: Final = "tesla_base_url"

# Which credential a reauth flow should ask for (passed in the reauth flow's data).
REAUTH_SERVICE: Final = "reauth_service"

# --- options ----------------------------------------------------------------------------------
CONF_FORECAST_SOURCE: Final = "forecast_source"
FORECAST_SOURCES: Final = ("predicted", "low", "high", "aemo")
DEFAULT_FORECAST_SOURCE: Final = "predicted"
CONF_SPIKE_PROTECTION: Final = "spike_protection"
DEFAULT_SPIKE_PROTECTION: Final = True
CONF_LIVE_INTERVAL: Final = "live_status_interval"
# Teslemetry's subscription covers frequent polling; Tesla Fleet bills every call.
DEFAULT_LIVE_INTERVAL: Final = {PROVIDER_TESLEMETRY: 30, PROVIDER_FLEET: 60}
MIN_LIVE_INTERVAL: Final = 10
MAX_LIVE_INTERVAL: Final = 600

# --- Tesla Fleet OAuth --------------------------------------------------------------------------
FLEET_AUTHORIZE_URL: Final = "https://auth.tesla.com/oauth2/v3/authorize"
FLEET_TOKEN_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"  # noqa: S105
FLEET_SCOPES: Final = ("openid", "offline_access", "energy_device_data", "energy_cmds")

# --- polling ------------------------------------------------------------------------------------
AMBER_INTERVAL: Final = timedelta(minutes=5)
# Amber publishes the new interval a few seconds after each 5-minute boundary.
# Polls within an interval, from its boundary: the first, then (while Amber has not rolled over or
# the price is an estimate) the re-polls, the last at 45 s: a price still an estimate then goes out
# as it is. Fixed offsets, not "20 s after the last answer", so the engine knows when the
# interval's last look has been taken.
AMBER_POLL_OFFSETS: Final = (
    timedelta(seconds=5),
    timedelta(seconds=20),
    timedelta(seconds=35),
    timedelta(seconds=45),
)
AMBER_POLL_OFFSET: Final = AMBER_POLL_OFFSETS[0]
# Look-back and look-ahead asked of /prices/current: an hour of 5-minute history, and enough
# intervals ahead for at least 28 hours wherever in the hour the poll falls (5-minute intervals to
# the end of the current hour, at most 11 of them, then 30-minute ones: 11 x 5 min + 57 x 30 min).
AMBER_PREVIOUS: Final = 12
AMBER_NEXT: Final = 68
AMBER_NEXT_30MIN: Final = 80
SITE_INFO_INTERVAL: Final = timedelta(hours=1)
CONF_RESTORE_ON_REMOVE: Final = "restore_on_remove"
DEFAULT_RESTORE_ON_REMOVE: Final = True
# Fixed-rate plan (price_source fixed_plan): the plan JSON of plans.py, kept in the options.
CONF_FIXED_PLAN: Final = "fixed_plan"
# Negative-price actions (Amber entries).
CONF_AVOID_PAID_EXPORTS: Final = "avoid_paid_exports"  # "off" | "never" | "pv_only"
AVOID_EXPORT_CHOICES: Final = ("off", "never", "pv_only")
CONF_CHARGE_ON_NEGATIVE: Final = "charge_on_negative"
CONF_NEGATIVE_CHARGE_RESERVE: Final = "negative_charge_reserve"
DEFAULT_NEGATIVE_CHARGE_RESERVE: Final = 100
