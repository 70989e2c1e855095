"""The channels through which restricted firms obtain compute: a closed registry.

Each channel is one class registered under its ``name``, and everything particular to it is
on the class: what it delivers, whether it evades the rules, which intermediary serves it,
whether it draws the hub's import quota, whose parties the regulator checks, how figures show
it, and the options it offers each month with their ordered checkpoints. A checkpoint
detects with probability ``p``, so a transaction is detected with probability
``1 - prod(1 - p_i)`` (docs/ODD.md, sections 7.2 and 7.3). Nothing outside this module names a channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from sim.capacity import Pool

if TYPE_CHECKING:
    from sim.config import Config, Policy
    from sim.protocols import ChannelView, Party, Venue


class Delivery(StrEnum):
    """What a channel delivers."""

    STOCK = "stock"  # chips that join the firm's stock and last
    FLOW = "flow"  # compute leased for a fixed number of months


class IntermediaryKind(StrEnum):
    """Who serves an offshore channel in a hub."""

    RESELLER = "reseller"
    FRONT_COMPANY = "front_company"
    LOGISTICS_BROKER = "logistics_broker"

    @property
    def hub_count_field(self) -> str:
        """The hub's config field giving how many of this kind are registered at the start."""
        return {"reseller": "resellers", "front_company": "front_companies", "logistics_broker": "logistics_brokers"}[
            self.value
        ]


class Audited(StrEnum):
    """Whose parties the regulator's end-use checks target in a channel."""

    INTERMEDIARIES = "intermediaries"
    OPERATORS = "operators"


class Source(NamedTuple):
    """Where compute comes from: ``("stockpile", None)``, ``("domestic", None)``, ``("smuggling", "uae")``."""

    channel: str
    hub: str | None = None


class Checkpoint(NamedTuple):
    """One check a transaction passes; ``per_trip`` checks repeat on every trip.

    A check that is not ``penalised`` only refuses: the order is not delivered, and nothing
    else follows (an operator screening customers while no rule makes the trade illicit).
    """

    name: str
    p: float
    per_trip: bool = False
    penalised: bool = True


class Option(NamedTuple):
    """One way to obtain compute this month.

    Attributes:
        channel: The channel.
        source: Where its compute comes from: the channel and hub (None for channels at home).
        intermediary: The reseller, front company or logistics broker involved.
        operator: The data-centre operator leasing the servers.
        cost_usd_per_h100e_month: Full cost of one H100e-month, before firm-specific terms.
        upfront_usd_per_h100e: Money committed per H100e when ordering.
        checkpoints: Ordered checks.
        pools: Capacities the option draws on (at most two).
        believed_risk_factor: Multiplier a firm applies to its (channel, hub) belief.
        trip_cost_usd: Cost of one data-transport trip (all engineers), else 0.
        chip: The chip it delivers (a key of ``world.chips``), whose worth per H100e depends on
            the firm's mix of training and inference; None for leased servers (H100-class).
    """

    channel: Channel
    source: Source
    intermediary: Party | None
    operator: Party | None
    cost_usd_per_h100e_month: float
    upfront_usd_per_h100e: float
    checkpoints: tuple[Checkpoint, ...]
    pools: tuple[Pool, ...]
    believed_risk_factor: float = 1.0
    trip_cost_usd: float = 0.0
    chip: str | None = None

    @property
    def hub(self) -> str | None:
        """Hub name, or None for channels at home."""
        return self.source.hub


class Channel:
    """A way to obtain compute; subclasses register themselves by ``name``.

    Attributes:
        name: Registry key, used in config paths and output columns.
        label: How figures name it.
        colour: How figures colour it (Okabe-Ito palette).
        delivers: Chips for the firm's stock, or a leased flow.
        illicit: Whether it evades the rules (its options have checkpoints and belief cells).
        offshore: Whether its options are in a hub abroad.
        served_by: The intermediary kind serving it in a hub; None when a firm deals directly.
        uses_import_quota: Whether its volume counts against the hub's import quota.
        audited: Whose parties the regulator checks; None if it checks none.
        undelivered_lost_on_close: Whether chips ordered but not yet delivered are never delivered
            once the channel closes (a vendor that loses its licence cannot ship them).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    colour: ClassVar[str]
    delivers: ClassVar[Delivery]
    illicit: ClassVar[bool]
    offshore: ClassVar[bool] = False
    served_by: ClassVar[IntermediaryKind | None] = None
    uses_import_quota: ClassVar[bool] = False
    audited: ClassVar[Audited | None] = None
    undelivered_lost_on_close: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a concrete channel, not a shared base such as HomeChips
            CHANNELS[cls.name] = cls

    @classmethod
    def smuggles_chips(cls) -> bool:
        """Whether it brings controlled chips into China (illicit chips for the stock)."""
        return cls.illicit and cls.delivers is Delivery.STOCK

    @classmethod
    def audits_on(cls, policy: Policy) -> bool:
        """Whether the regulator checks its parties under ``policy`` (channels with ``audited`` only)."""
        return cls.audited is not None

    def options(self, view: ChannelView) -> Iterator[Option]:
        """Yield every option open this month."""
        raise NotImplementedError

    def lead_time_months(self, cfg: Config) -> int:
        """Months from order to the first delivered compute."""
        raise NotImplementedError

    def supply_usd_per_month(self, cfg: Config) -> float | None:
        """Value the vendor can deliver in a month, orders beyond it queued; None: no vendor queue."""
        return None

    def months_delivered(self, cfg: Config) -> int:
        """Months of compute one H100e ordered delivers (amortisation or lease)."""
        market = cfg.world.market
        return market.amortisation_months if self.delivers is Delivery.STOCK else market.lease_months


CHANNELS: dict[str, type[Channel]] = {}


def _chip_cost(cfg: Config, price_usd_per_h100e: float) -> float:
    market = cfg.world.market
    return price_usd_per_h100e / market.amortisation_months + market.opex_usd_per_h100e_month


class HomeChips(Channel):
    """A legal purchase of chips at home: one option a month while open, drawing one pool."""

    delivers = Delivery.STOCK
    illicit = False

    def offer(self, view: ChannelView) -> tuple[float, Pool] | None:
        """This month's price per H100e and the pool it draws, or None while closed."""
        raise NotImplementedError

    def chip(self, view: ChannelView) -> str:
        """The chip sold."""
        raise NotImplementedError

    def non_price_cost_share(self, view: ChannelView) -> float:
        """A cost to the buyer beyond the price, as a share of the chip cost (no money changes hands)."""
        return 0.0

    def options(self, view: ChannelView) -> Iterator[Option]:
        offer = self.offer(view)
        if offer is not None:
            price, pool = offer
            cost = _chip_cost(view.cfg, price) * (1.0 + self.non_price_cost_share(view))
            yield Option(self, Source(self.name), None, None, cost, price, (), (pool,), chip=self.chip(view))


#: The pool of the domestic channel, refilled with each firm's ration before it decides.
DOMESTIC_RATION = ("domestic",)


class Domestic(HomeChips):
    """Buy domestic accelerators; national supply is rationed pro rata to unmet demand.

    Each firm may buy up to its ration, ``supply * need_f / sum(need)``, so a short supply
    is shared pro rata and a firm re-splits what its ration does not cover.
    """

    name = "domestic"
    label = "Domestic chips"
    colour = "#009E73"

    def offer(self, view: ChannelView) -> tuple[float, Pool] | None:
        if view.domestic_supply_h100e <= 0:
            return None
        world = view.cfg.world
        ration = Pool(DOMESTIC_RATION, 0.0)  # refilled with each firm's ration
        return world.domestic.price_usd_per_chip / world.chips[world.domestic.chip], ration

    def chip(self, view: ChannelView) -> str:
        return view.cfg.world.domestic.chip

    def lead_time_months(self, cfg: Config) -> int:
        return cfg.world.market.domestic_lead_time_months


class Compliant(HomeChips):
    """Buy export-compliant chips legally, with any surcharge; closed when banned.

    The vendor delivers at most ``supply_usd_per_month`` a month; orders beyond it wait in its
    queue, and what is still queued when the channel closes is never delivered.
    """

    name = "compliant"
    label = "Compliant chips"
    colour = "#56B4E9"
    undelivered_lost_on_close = True

    def offer(self, view: ChannelView) -> tuple[float, Pool] | None:
        rule = view.cfg.policy.compliant_chips
        if not rule.allowed or rule.supply_usd_per_month == 0:
            return None
        price = rule.price_usd_per_h100e(view.cfg.world.chips[rule.chip], view.list_price_usd_per_h100e)
        return price, Pool(("compliant",), None)

    def chip(self, view: ChannelView) -> str:
        return view.cfg.policy.compliant_chips.chip

    def non_price_cost_share(self, view: ChannelView) -> float:
        return view.cfg.policy.compliant_chips.home_discouragement_share

    def lead_time_months(self, cfg: Config) -> int:
        return cfg.world.market.compliant_lead_time_months

    def supply_usd_per_month(self, cfg: Config) -> float | None:
        return cfg.policy.compliant_chips.supply_usd_per_month


#: What the gray market sells, priced per H100e (``world.market.h100_price_usd``).
SMUGGLED_CHIP = "H100"


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
    served_by = IntermediaryKind.RESELLER
    uses_import_quota = True
    audited = Audited.INTERMEDIARIES

    def options(self, view: ChannelView) -> Iterator[Option]:
        policy = view.cfg.policy
        for venue in view.venues():
            customs = venue.cargo_inspection_rate() * policy.customs.detection_given_cargo_inspection
            regulator = view.check_probability(self.name, venue.hub)
            quota = venue.quota_pool()
            source = Source(self.name, venue.hub)
            shipping = view.cfg.world.hubs[venue.hub].shipping_cost_usd_per_h100e
            for reseller in view.usable(self.served_by, venue.hub):
                flags = reseller.red_flags()
                price = view.gray_price_usd_per_h100e * (1 + reseller.fee_share()) + shipping
                checkpoints = (
                    Checkpoint("vendor_audit", policy.end_user_audits.detection(flags)),
                    Checkpoint("cargo_inspection", customs),
                    Checkpoint("regulator_audit", min(1.0, regulator * flags)),
                )
                pools = (reseller.pool(), quota) if quota is not None else (reseller.pool(),)
                yield Option(
                    self,
                    source,
                    reseller,
                    None,
                    _chip_cost(view.cfg, price),
                    price,
                    checkpoints,
                    pools,
                    reseller.believed_risk_factor(),
                    chip=SMUGGLED_CHIP,
                )

    def lead_time_months(self, cfg: Config) -> int:
        return cfg.world.market.smuggling_lead_time_months


def _lease_options(channel: Channel, view: ChannelView) -> Iterator[tuple[Venue, Party, Party, float, float]]:
    """(venue, intermediary, its operator, KYC probability, monthly price) of every lease option."""
    for venue in view.venues():
        price = view.cfg.world.hubs[venue.hub].rental_price_usd_per_h100e_month
        for intermediary in view.usable(channel.served_by, venue.hub):
            operator = intermediary.operator
            kyc = operator.kyc_strictness() * intermediary.red_flag_probability()
            yield venue, intermediary, operator, kyc, price * (1 + intermediary.fee_share())


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
    served_by = IntermediaryKind.FRONT_COMPANY
    audited = Audited.OPERATORS

    @classmethod
    def audits_on(cls, policy: Policy) -> bool:
        return policy.remote_access.operator_audits

    def options(self, view: ChannelView) -> Iterator[Option]:
        lease_months = view.cfg.world.market.lease_months
        audits_on = self.audits_on(view.cfg.policy)
        for venue, front, operator, kyc, rent in _lease_options(self, view):
            checkpoints = (Checkpoint("operator_kyc", kyc, penalised=view.cfg.policy.remote_access.kyc_required),)
            if audits_on:
                regulator = view.check_probability(self.name, venue.hub)
                checkpoints += (Checkpoint("regulator_audit", min(1.0, regulator * front.red_flags())),)
            yield Option(
                self,
                Source(self.name, venue.hub),
                front,
                operator,
                rent,
                rent * lease_months,
                checkpoints,
                (front.pool(), operator.pool()),
                front.believed_risk_factor(),
            )

    def lead_time_months(self, cfg: Config) -> int:
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
    served_by = IntermediaryKind.LOGISTICS_BROKER

    def options(self, view: ChannelView) -> Iterator[Option]:
        cfg = view.cfg
        transport = cfg.world.data_transport
        customs = cfg.policy.customs
        lease_months = cfg.world.market.lease_months
        for venue, broker, operator, kyc, rent in _lease_options(self, view):
            searched = venue.passenger_inspection_rate()
            checkpoints = (
                Checkpoint("passenger_customs", searched * customs.detection_given_drive_inspection, per_trip=True),
                Checkpoint(
                    "operator_kyc", kyc * transport.red_flag_factor, penalised=cfg.policy.remote_access.kyc_required
                ),
                Checkpoint("return_customs", searched * customs.detection_given_weights_inspection),
            )
            trip_cost = transport.persons_per_trip * cfg.world.hubs[venue.hub].travel_cost_usd
            yield Option(
                self,
                Source(self.name, venue.hub),
                broker,
                operator,
                rent,
                rent * lease_months,
                checkpoints,
                (broker.pool(), operator.pool()),
                broker.believed_risk_factor(),
                trip_cost,
            )

    def lead_time_months(self, cfg: Config) -> int:
        return cfg.world.data_transport.prep_months


class CloudRental(Channel):
    """A firm rents servers abroad from an operator in its own name: legal while no rule bars it.

    Open while no cloud rule (``policy.remote_access.kyc_required``) bars restricted firms; the
    operator may still refuse a Chinese customer (its screening strictness, a refusal only).
    It draws the operator's free capacity, with no intermediary and no fee.
    """

    name = "cloud_rental"
    label = "Cloud rental (legal)"
    colour = "#E69F00"
    delivers = Delivery.FLOW
    illicit = False
    offshore = True

    def options(self, view: ChannelView) -> Iterator[Option]:
        cfg = view.cfg
        if cfg.policy.remote_access.kyc_required:
            return
        lease_months = cfg.world.market.lease_months
        for venue in view.venues():
            rent = cfg.world.hubs[venue.hub].rental_price_usd_per_h100e_month
            source = Source(self.name, venue.hub)
            for operator in view.operators(venue.hub):
                refusal = Checkpoint("operator_screening", operator.kyc_strictness(), penalised=False)
                yield Option(self, source, None, operator, rent, rent * lease_months, (refusal,), (operator.pool(),))

    def lead_time_months(self, cfg: Config) -> int:
        return 0


#: Channel names in registry order, and those that evade the rules.
CHANNEL_NAMES: tuple[str, ...] = tuple(CHANNELS)
ILLICIT_CHANNELS: tuple[str, ...] = tuple(n for n, c in CHANNELS.items() if c.illicit)
#: Which channel each intermediary kind serves.
CHANNEL_OF_KIND: dict[IntermediaryKind, str] = {c.served_by: n for n, c in CHANNELS.items() if c.served_by}
