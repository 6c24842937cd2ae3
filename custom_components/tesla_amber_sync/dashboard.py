"""A ready Lovelace view for one entry, with its real entity ids, using built-in cards only.

Entity ids depend on the user's device names (and renames), so the view is built from the entity
registry at the time it is asked for, never from assumed ids. Cards whose entities the entry does
not have (no demand charge, no controls) are left out.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN
from .data import TeslaAmberSyncConfigEntry


def _lookup(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> dict[str, str]:
    """key → entity id for every entity of the entry."""
    registry = er.async_get(hass)
    prefix = f"{entry.unique_id}_"
    return {
        reg.unique_id.removeprefix(prefix): reg.entity_id
        for reg in er.async_entries_for_config_entry(registry, entry.entry_id)
        if reg.unique_id.startswith(prefix) and reg.platform == DOMAIN and not reg.disabled
    }


def _entities_card(title: str, ids: dict[str, str], keys: list[str]) -> dict[str, Any] | None:
    entities = [ids[key] for key in keys if key in ids]
    if not entities:
        return None
    return {"type": "entities", "title": title, "entities": entities}


def _forecast_markdown(buy_id: str, sell_id: str | None) -> dict[str, Any]:
    """The next 24 h of prices as a table (the markdown card renders the template)."""
    # Buy and sell forecasts list the same intervals in the same order.
    sell = f"state_attr('{sell_id}', 'forecast') or []" if sell_id else "[]"
    content = (
        f"{{% set buy = state_attr('{buy_id}', 'forecast') or [] %}}"
        f"{{% set sell = {sell} %}}\n"
        "| Time | Buy $/kWh | Sell $/kWh |\n|:--|--:|--:|\n"
        "{% for f in buy %}{% if f.start[14:16] in ['00', '30'] %}"
        "| {{ f.start[11:16] }} | {{ '%.3f' | format(f.price) }} | "
        "{{ '%.3f' | format(sell[loop.index0].price) if sell | length > loop.index0 else '' }} |\n"
        "{% endif %}{% endfor %}"
    )
    return {"type": "markdown", "title": "Prices, next 24 h", "content": content}


def _plan_markdown(tariff_id: str) -> dict[str, Any]:
    """The 48 half hours of the plan the Powerwall holds."""
    content = (
        f"Now: **{{{{ states('{tariff_id}') }}}} $/kWh** "
        f"({{{{ state_attr('{tariff_id}', 'plan_name') }}}})\n\n"
        "| Slot | Buy | Sell |\n|:--|--:|--:|\n"
        f"{{% set buy = state_attr('{tariff_id}', 'buy') or {{}} %}}"
        f"{{% set sell = state_attr('{tariff_id}', 'sell') or {{}} %}}"
        "{% for slot, price in buy.items() %}"
        "| {{ slot }} | {{ price }} | {{ sell.get(slot) }} |\n"
        "{% endfor %}"
    )
    return {"type": "markdown", "title": "Plan on the Powerwall", "content": content}


def build_view(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> dict[str, Any]:
    """The Lovelace view (a dict ready to paste as YAML or JSON)."""
    ids = _lookup(hass, entry)
    cards: list[dict[str, Any] | None] = [
        _entities_card(
            "Price now",
            ids,
            [
                "general_price",
                "feed_in_price",
                "controlled_load_price",
                "plan_period",
                "price_spike",
                "renewables",
                "demand_window",
            ],
        )
    ]
    if "general_price" in ids:
        cards.append(_forecast_markdown(ids["general_price"], ids.get("feed_in_price")))
    if "tariff" in ids:
        cards.append(_plan_markdown(ids["tariff"]))
    if "battery_level" in ids:
        cards.append(
            {
                "type": "gauge",
                "name": "Battery",
                "entity": ids["battery_level"],
                "min": 0,
                "max": 100,
                "severity": {"green": 50, "yellow": 20, "red": 0},
            }
        )
    flows = [
        ids[k] for k in ("solar_power", "grid_power", "battery_power", "home_load") if k in ids
    ]
    if flows:
        cards.append(
            {
                "type": "history-graph",
                "title": "Power flows",
                "hours_to_show": 24,
                "entities": flows,
            }
        )
    cards.append(
        _entities_card(
            "Sync",
            ids,
            ["auto_sync", "sync_status", "tariff", "forced_mode_active", "grid_connected"],
        )
    )
    cards.append(
        _entities_card(
            "Demand charge",
            ids,
            [
                "in_demand_window",
                "current_demand",
                "peak_demand",
                "demand_charge_cost",
                "days_until_demand_reset",
            ],
        )
    )
    cards.append(
        _entities_card(
            "Powerwall settings",
            ids,
            [
                "operation_mode",
                "backup_reserve",
                "grid_export_rule",
                "grid_charging",
                "storm_watch",
            ],
        )
    )
    cards.append(
        _entities_card(
            "Energy",
            ids,
            [
                "grid_import_energy",
                "grid_export_energy",
                "solar_production_energy",
                "battery_charge_energy",
                "battery_discharge_energy",
                "home_consumption_energy",
            ],
        )
    )
    return {
        "title": f"{entry.title} · Tesla Amber Sync",
        "path": f"tesla-amber-sync-{entry.unique_id}",
        "icon": "mdi:home-battery",
        "cards": [card for card in cards if card is not None],
    }
