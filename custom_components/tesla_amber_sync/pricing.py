"""Which of an Amber interval's numbers is "the price", per interval type and user option.

Pure: used by the tariff builder and by the price sensors' forecast, so both agree.
"""

from __future__ import annotations

from .api.models import IntervalType, PriceInterval

PER_KWH = "perKwh"


def interval_price(interval: PriceInterval, forecast_source: str) -> tuple[float, str]:
    """The price (c/kWh, Amber's sign) to use for `interval`, and the field it came from.

    Actual → `perKwh`. Current → `perKwh`, or Amber's predicted price while the current price is
    still an estimate. Forecast → `advancedPrice.<option>` (falling back to `perKwh` when Amber
    gave none); the `aemo` option means plain `perKwh` throughout.
    """
    advanced = interval.advanced_price
    if interval.interval_type == IntervalType.ACTUAL or forecast_source == "aemo":
        return interval.per_kwh, PER_KWH
    if interval.interval_type == IntervalType.CURRENT:
        if interval.estimate and advanced is not None:
            return advanced.predicted, "advancedPrice.predicted"
        return interval.per_kwh, PER_KWH
    if advanced is None:
        return interval.per_kwh, PER_KWH
    if forecast_source == "low":
        return advanced.low, "advancedPrice.low"
    if forecast_source == "high":
        return advanced.high, "advancedPrice.high"
    return advanced.predicted, "advancedPrice.predicted"
