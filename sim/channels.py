"""The five channels through which restricted firms obtain compute.

Each channel is one small class registered under its ``name``. Once a month it lists the
options open to firms: a hub and the intermediary and operator involved, their cost, what
they draw capacity from, and the ordered checkpoints a transaction must pass. A
checkpoint detects with probability ``p``, so a transaction is detected with probability
``1 - prod(1 - p_i)`` (DESIGN section 5).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, NamedTuple

if TYPE_CHECKING:
    from sim.agents.intermediary import Intermediary
    from sim.agents.operator import Operator
    from sim.model import ExportControlModel


class Delivery(StrEnum):
    """What a channel delivers."""

    STOCK = "stock"  # chips that join the firm's stock and last
    FLOW = "flow"  # compute leased for a fixed number of months


class Checkpoint(NamedTuple):
    """One check a transaction passes; ``per_trip`` checks repeat on every trip."""

    name: str
    p: float
    per_trip: bool = False


class Option(NamedTuple):
    """One way to obtain compute this month.

    Attributes:
        channel: The channel.
        hub: Hub name, or None for channels at home.
        intermediary: The reseller, front company or logistics broker involved.
        operator: The data-centre operator leasing the servers.
        cost_usd_per_h100e_month: Full cost of one H100e-month, before firm-specific terms.
        upfront_usd_per_h100e: Money committed per H100e when ordering.
        checkpoints: Ordered checks.
        pools: Capacity pools the option draws from (see ``sim.capacity``).
        believed_risk_factor: Multiplier a firm applies to its (channel, hub) belief.
        trip_cost_usd: Cost of one data-transport trip (all engineers), else 0.
    """

    channel: Channel
    hub: str | None
    intermediary: Intermediary | None
    operator: Operator | None
    cost_usd_per_h100e_month: float
    upfront_usd_per_h100e: float
    checkpoints: tuple[Checkpoint, ...]
    pools: tuple[int, ...]
    believed_risk_factor: float = 1.0
    trip_cost_usd: float = 0.0


class Channel:
    """A way to obtain compute; subclasses register themselves by ``name``.

    ``label`` and ``colour`` are how figures show the channel (colours from the Okabe-Ito palette).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    colour: ClassVar[str]
    delivers: ClassVar[Delivery]
    illicit: ClassVar[bool]
    offshore: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        CHANNELS[cls.name] = cls

    def options(self, model: ExportControlModel) -> Iterator[Option]:
        """Yield every option open this month."""
        raise NotImplementedError

    def lead_time_months(self, model: ExportControlModel) -> int:
        """Months from order to the first delivered compute."""
        raise NotImplementedError

    def months_delivered(self, model: ExportControlModel) -> int:
        """Months of compute one H100e ordered delivers (amortisation or lease)."""
        market = model.cfg.world.market
        return market.amortisation_months if self.delivers is Delivery.STOCK else market.lease_months


CHANNELS: dict[str, type[Channel]] = {}


def _chip_cost(model: ExportControlModel, price_usd_per_h100e: float) -> float:
    market = model.cfg.world.market
    return price_usd_per_h100e / market.amortisation_months + market.opex_usd_per_h100e_month


class Domestic(Channel):
    """Buy domestic accelerators; national supply is rationed pro rata to unmet demand.

    Each firm may buy up to its ration, ``supply * need_f / sum(need)``, so a short supply
    is shared pro rata and a firm re-splits what its ration does not cover.
    """

    name = "domestic"
    label = "Domestic chips"
    colour = "#009E73"
    delivers = Delivery.STOCK
    illicit = False
    offshore = False

    def options(self, model: ExportControlModel) -> Iterator[Option]:
        if model.domestic_supply_h100e <= 0:
            return
        world = model.cfg.world
        price = world.domestic.price_usd_per_chip / world.chips[world.domestic.chip]
        pool = model.pools.add(("domestic",), 0.0)  # refilled with each firm's ration
        yield Option(self, None, None, None, _chip_cost(model, price), price, (), (pool,))

    def lead_time_months(self, model: ExportControlModel) -> int:
        return model.cfg.world.market.domestic_lead_time_months


class Compliant(Channel):
    """Buy export-compliant chips legally, with any surcharge; closed when banned."""

    name = "compliant"
    label = "Compliant chips"
    colour = "#56B4E9"
    delivers = Delivery.STOCK
    illicit = False
    offshore = False

    def options(self, model: ExportControlModel) -> Iterator[Option]:
        rule = model.cfg.policy.compliant_chips
        if not rule.allowed:
            return
        price = rule.price_usd_per_chip * (1 + rule.surcharge_share) / model.cfg.world.chips[rule.chip]
        pool = model.pools.add(("compliant",), rule.supply_h100e_per_month)
        yield Option(self, None, None, None, _chip_cost(model, price), price, (), (pool,))

    def lead_time_months(self, model: ExportControlModel) -> int:
        return model.cfg.world.market.compliant_lead_time_months


class Smuggling(Channel):
    """A reseller buys chips in a hub, under its import cap, and ships them to China.

    Checkpoints: the vendor's end-user audit, the hub's export cargo inspection and the
    regulator's end-use check on the reseller (carried out if the hub cooperates).
    """

    name = "smuggling"
    label = "Smuggling"
    colour = "#D55E00"
    delivers = Delivery.STOCK
    illicit = True
    offshore = True

    def options(self, model: ExportControlModel) -> Iterator[Option]:
        policy = model.cfg.policy
        audits = policy.end_user_audits
        for hub, authority in model.authorities.items():
            quota = model.hubs[hub].quota_pool
            customs = authority.cargo_inspection_rate() * policy.customs.detection_given_cargo_inspection
            regulator = model.regulator.check_probability(self.name, hub)
            for reseller in model.usable_intermediaries(self.name, hub):
                flags = reseller.red_flags()
                price = model.gray_price_usd_per_h100e * (1 + reseller.fee_share())
                checkpoints = (
                    Checkpoint("vendor_audit", min(1.0, audits.audit_rate * audits.detection_given_audit * flags)),
                    Checkpoint("cargo_inspection", customs),
                    Checkpoint("regulator_audit", min(1.0, regulator * flags)),
                )
                pools = (reseller.pool, quota) if quota is not None else (reseller.pool,)
                yield Option(
                    self,
                    hub,
                    reseller,
                    None,
                    _chip_cost(model, price),
                    price,
                    checkpoints,
                    pools,
                    reseller.believed_risk_factor(),
                )

    def lead_time_months(self, model: ExportControlModel) -> int:
        return model.cfg.world.market.smuggling_lead_time_months


def _lease_options(
    channel: Channel, model: ExportControlModel
) -> Iterator[tuple[str, Intermediary, Operator, float, float]]:
    """(hub, intermediary, its operator, KYC probability, monthly price) of every lease option."""
    for hub in model.hubs:
        price = model.cfg.world.hubs[hub].rental_price_usd_per_h100e_month
        for intermediary in model.usable_intermediaries(channel.name, hub):
            operator = intermediary.operator
            kyc = operator.kyc_strictness() * intermediary.red_flag_probability()
            yield hub, intermediary, operator, kyc, price * (1 + intermediary.fee_share())


class RemoteRental(Channel):
    """A front company leases servers from an operator; the firm trains over the network.

    Checkpoints: the operator's KYC screening, and the regulator's end-use check on the
    operator when remote-access rules are on.
    """

    name = "remote_rental"
    label = "Remote rental"
    colour = "#0072B2"
    delivers = Delivery.FLOW
    illicit = True
    offshore = True

    def options(self, model: ExportControlModel) -> Iterator[Option]:
        lease_months = model.cfg.world.market.lease_months
        audits_on = model.cfg.policy.remote_access.operator_audits
        for hub, front, operator, kyc, rent in _lease_options(self, model):
            regulator = model.regulator.check_probability(self.name, hub) if audits_on else 0.0
            checkpoints = (
                Checkpoint("operator_kyc", kyc),
                Checkpoint("regulator_audit", min(1.0, regulator * front.red_flags())),
            )
            yield Option(
                self,
                hub,
                front,
                operator,
                rent,
                rent * lease_months,
                checkpoints,
                (front.pool, operator.pool),
                front.believed_risk_factor(),
            )

    def lead_time_months(self, model: ExportControlModel) -> int:
        return 0


class DataTransport(Channel):
    """Engineers fly drives of data to a hub, a local entity leases servers, weights fly back.

    Checkpoints: passenger customs on every outbound trip (drives), the operator's KYC
    (a local entity shows fewer red flags) and return customs (weights).
    """

    name = "data_transport"
    label = "Data transport"
    colour = "#CC79A7"
    delivers = Delivery.FLOW
    illicit = True
    offshore = True

    def options(self, model: ExportControlModel) -> Iterator[Option]:
        cfg = model.cfg
        transport = cfg.world.data_transport
        customs = cfg.policy.customs
        lease_months = cfg.world.market.lease_months
        for hub, broker, operator, kyc, rent in _lease_options(self, model):
            searched = model.authorities[hub].passenger_inspection_rate()
            checkpoints = (
                Checkpoint("passenger_customs", searched * customs.detection_given_drive_inspection, per_trip=True),
                Checkpoint("operator_kyc", kyc * transport.red_flag_factor),
                Checkpoint("return_customs", searched * customs.detection_given_weights_inspection),
            )
            trip_cost = transport.persons_per_trip * cfg.world.hubs[hub].travel_cost_usd
            yield Option(
                self,
                hub,
                broker,
                operator,
                rent,
                rent * lease_months,
                checkpoints,
                (broker.pool, operator.pool),
                broker.believed_risk_factor(),
                trip_cost,
            )

    def lead_time_months(self, model: ExportControlModel) -> int:
        return model.cfg.world.data_transport.prep_months


#: Channel names in a fixed order; illicit ones are those with checkpoints.
CHANNEL_NAMES: tuple[str, ...] = tuple(CHANNELS)
ILLICIT_CHANNELS: tuple[str, ...] = tuple(n for n, c in CHANNELS.items() if c.illicit)
OFFSHORE_CHANNELS: tuple[str, ...] = tuple(n for n, c in CHANNELS.items() if c.offshore)
