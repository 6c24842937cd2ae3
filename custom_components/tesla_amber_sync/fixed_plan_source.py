"""A fixed-rate plan as the price source: the same engine pushes it, on change and when the
Powerwall's plan drifts away from it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.util import dt as dt_util

from .demand import IN_PLAN_NONE, SOURCE_FIXED, DemandConfig, applies_in_month, window_slots
from .demand_plan import apply_demand, window_cells
from .plan_source import PlanBuild, PlanUnavailableError, site_zone
from .plans import FixedPlan, PlanError, load_plan, period_at, plan_to_tou
from .tou import TariffIndex, encode_tariff
from .validate import TariffValidationError, validate_tariff


def read_plan(data: Any) -> tuple[FixedPlan | None, str | None]:
    """The stored plan, or the reason it cannot be used."""
    if data is None:
        return None, "no plan is stored"
    try:
        return load_plan(data), None
    except PlanError as err:
        return None, str(err)


def plan_problem(
    plan: FixedPlan, site_info: Any, demand: DemandConfig | None, now: datetime
) -> str | None:
    """Why this plan could not be pushed as the entry is configured (demand options applied),
    or None. Run before storing a plan, so that a stored plan is always pushable."""
    try:
        FixedPlanSource(plan, None, site_info, demand).build(now)
    except PlanUnavailableError as err:
        return str(err)
    return None


class FixedPlanSource:
    """Builds the Powerwall plan from the user's fixed-rate plan."""

    follows_prices = False

    def __init__(
        self,
        plan: FixedPlan | None,
        problem: str | None,
        site_info: Any,
        demand: DemandConfig | None = None,
    ) -> None:
        """`site_info` is the site-info coordinator (for the site's time zone)."""
        self.plan = plan
        self.problem = problem
        self._site_info = site_info
        self._demand = demand

    def prices_fresh(self, now: datetime) -> bool:
        """A valid stored plan never goes stale."""
        return self.plan is not None

    def build(self, now: datetime) -> PlanBuild:
        """Expand, add the demand window if configured, encode and validate."""
        if self.plan is None:
            raise PlanUnavailableError("plan_invalid", self.problem or "no plan")
        plan = plan_to_tou(self.plan)
        zone = site_zone(self._site_info.data if self._site_info is not None else None)
        today = dt_util.as_utc(now).astimezone(zone).date()
        demand = self._demand
        if (
            demand is not None
            and demand.enabled
            and demand.in_plan != IN_PLAN_NONE
            and demand.window_source == SOURCE_FIXED
            # Outside the window's months the plan goes without it; the plan is rebuilt and
            # compared at every site_info read (hourly), so a new month reaches the Powerwall.
            and applies_in_month(demand, today.month)
        ):
            plan = apply_demand(plan, demand, window_cells(window_slots(demand)))
        tariff = encode_tariff(plan)
        try:
            validate_tariff(tariff)
        except TariffValidationError as err:
            raise PlanUnavailableError("plan_invalid", str(err)) from err
        index = TariffIndex(tariff)
        buy: dict[str, float] = {}
        sell: dict[str, float] = {}
        explanation: list[dict[str, Any]] = []
        midnight = datetime.combine(today, time())
        for slot in range(48):
            clock = (midnight + timedelta(minutes=30 * slot)).time()
            local = datetime.combine(today, clock, tzinfo=zone)
            rate = index.rates_at(local)
            label = f"{clock:%H:%M}"
            buy[label] = rate.buy if rate.buy is not None else float("nan")
            sell[label] = rate.sell if rate.sell is not None else float("nan")
            at = period_at(self.plan, local)
            explanation.append(
                {
                    "slot": label,
                    "buy": buy[label],
                    "sell": sell[label],
                    "season": at.season if at else None,
                    "period": at.period if at else None,
                }
            )
        return PlanBuild(tariff=tariff, buy=buy, sell=sell, explanation=explanation)
