"""The channels through which restricted firms obtain compute: a closed registry.

Each channel is one class registered under its ``name``, and everything particular to it is
on the class: what it delivers, whether it evades the rules, which intermediary serves it,
whether it draws the hub's import quota, whose parties the regulator checks, how figures show
it, and the options it offers each month with their ordered checkpoints. A checkpoint
detects with probability ``p``, so a transaction is detected with probability
``1 - prod(1 - p_i)`` (docs/ODD.md, sections 7.2 and 7.3). Nothing outside this module names a channel.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, NamedTuple

import numpy as np

from sim.capacity import UNLIMITED

if TYPE_CHECKING:
    from sim.config import Config, Policy
    from sim.protocols import ChannelView


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
    """One check every option of a channel passes; ``per_trip`` checks repeat on every trip.

    A check that is not ``penalised`` only refuses: the order is not delivered, and nothing
    else follows (an operator screening customers while no rule makes the trade illicit).
    """

    name: str
    p: np.ndarray  # detection probability of each option
    per_trip: bool = False
    penalised: bool = True


#: No intermediary, or no operator, in an option.
NOBODY = -1


class Offers(NamedTuple):
    """A channel's options this month as arrays, one entry per option.

    Attributes:
        hub: Hub index of each (-1: a channel at home).
        intermediary: Row of the reseller, front company or logistics broker involved (-1: none).
        operator: Row of the data-centre operator leasing the servers (-1: none).
        cost_usd_per_h100e_month: Full cost of one H100e-month, before firm-specific terms.
        upfront_usd_per_h100e: Money committed per H100e when ordering.
        checkpoints: Ordered checks, the same for every option of the channel.
        pools: The capacity pools each draws on (``sim.capacity``): its first, and its second.
        believed_risk_factor: Multiplier a firm applies to its (channel, hub) belief.
        trip_cost_usd: Cost of one data-transport trip (all engineers), else 0.
        chip: The chip it delivers (a key of ``world.chips``), whose worth per H100e depends on
            the firm's mix of training and inference; None for leased servers (H100-class).
    """

    hub: np.ndarray
    intermediary: np.ndarray
    operator: np.ndarray
    cost_usd_per_h100e_month: np.ndarray
    upfront_usd_per_h100e: np.ndarray
    checkpoints: tuple[Checkpoint, ...]
    pools: tuple[np.ndarray, np.ndarray]
    believed_risk_factor: np.ndarray
    trip_cost_usd: np.ndarray
    chip: str | None = None

    @property
    def size(self) -> int:
        """How many options."""
        return len(self.hub)


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

    def is_open(self, view: ChannelView) -> bool:
        """Whether it trades this month: the rules in force (``view.cfg``) allow it and it has supply."""
        return True

    def options(self, view: ChannelView) -> Offers:
        """Every option of the month (asked only while the channel is open).

        Its chip and its checks (their names, order and kinds) follow from the config in force
        (``view.cfg``); only the checks' probabilities may change from month to month.
        """
        raise NotImplementedError

    def lead_time_months(self, cfg: Config) -> int:
        """Months from order to the first delivered compute."""
        raise NotImplementedError

    def supply_usd_per_month(self, cfg: Config) -> float | None:
        """Value the vendor can deliver in a month, orders beyond it queued; None: no vendor queue."""
        return None

    @classmethod
    def months_delivered(cls, cfg: Config) -> int:
        """Months of compute one H100e ordered delivers (amortisation or lease)."""
        market = cfg.world.market
        return market.amortisation_months if cls.delivers is Delivery.STOCK else market.lease_months


CHANNELS: dict[str, type[Channel]] = {}


def _chip_cost[T: (float, np.ndarray)](cfg: Config, price_usd_per_h100e: T) -> T:
    market = cfg.world.market
    return price_usd_per_h100e / market.amortisation_months + market.opex_usd_per_h100e_month


class HomeChips(Channel):
    """A legal purchase of chips at home: one option a month while open, drawing one pool."""

    delivers = Delivery.STOCK
    illicit = False

    def offer(self, view: ChannelView) -> tuple[float, int]:
        """This month's price per H100e and the pool it draws."""
        raise NotImplementedError

    def chip(self, view: ChannelView) -> str:
        """The chip sold."""
        raise NotImplementedError

    def non_price_cost_share(self, view: ChannelView) -> float:
        """A cost to the buyer beyond the price, as a share of the chip cost (no money changes hands)."""
        return 0.0

    def options(self, view: ChannelView) -> Offers:
        price, pool = self.offer(view)
        cost = _chip_cost(view.cfg, price) * (1.0 + self.non_price_cost_share(view))
        nobody, first_pool, second_pool = np.array([[NOBODY], [pool], [UNLIMITED]])
        cost_usd, price_usd, neutral, no_trip = np.array([[cost], [price], [1.0], [0.0]])
        pools = (first_pool, second_pool)
        return Offers(nobody, nobody, nobody, cost_usd, price_usd, (), pools, neutral, no_trip, self.chip(view))


class Domestic(HomeChips):
    """Buy domestic accelerators; national supply is rationed pro rata to unmet demand.

    Each firm may buy up to its ration, ``supply * need_f / sum(need)``, so a short supply
    is shared pro rata and a firm re-splits what its ration does not cover. The ration is a
    pool refilled with each firm's before it decides.
    """

    name = "domestic"
    label = "Domestic chips"
    colour = "#009E73"

    def is_open(self, view: ChannelView) -> bool:
        return view.domestic_supply_h100e > 0

    def offer(self, view: ChannelView) -> tuple[float, int]:
        domestic = view.cfg.world.domestic
        price = domestic.price_usd_per_chip / view.cfg.world.chips[domestic.chip]
        return price, view.capacities.ration("domestic_ration")

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

    def is_open(self, view: ChannelView) -> bool:
        rule = view.cfg.policy.compliant_chips
        return rule.allowed and rule.supply_usd_per_month != 0

    def offer(self, view: ChannelView) -> tuple[float, int]:
        rule = view.cfg.policy.compliant_chips
        price = rule.price_usd_per_h100e(view.cfg.world.chips[rule.chip], view.list_price_usd_per_h100e)
        return price, UNLIMITED  # the vendor's supply queues orders (``supply_usd_per_month``)

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

    def options(self, view: ChannelView) -> Offers:
        policy = view.cfg.policy
        parties = view.parties
        resellers = parties.usable[self.served_by]
        hub = parties.hub[resellers]
        flags = parties.red_flags[resellers]
        customs = view.authorities.cargo_inspection_rate() * policy.customs.detection_given_cargo_inspection
        regulator = view.regulator.check_probability(self.name)
        price = view.gray_price_usd_per_h100e * (1 + parties.fee_share[resellers])
        price += view.hub_columns.shipping_cost_usd_per_h100e[hub]
        checkpoints = (
            Checkpoint("vendor_audit", policy.end_user_audits.detection(flags)),
            Checkpoint("cargo_inspection", customs[hub]),
            Checkpoint("regulator_audit", np.minimum(1.0, regulator[hub] * flags)),
        )
        pools = (view.capacities.intermediary(resellers), view.capacities.quota(hub))
        nobody = np.full(len(hub), NOBODY)
        risk_factor = parties.believed_risk_factor[resellers]
        cost = _chip_cost(view.cfg, price)
        no_trip = np.zeros(len(hub))
        return Offers(hub, resellers, nobody, cost, price, checkpoints, pools, risk_factor, no_trip, SMUGGLED_CHIP)

    def lead_time_months(self, cfg: Config) -> int:
        return cfg.world.market.smuggling_lead_time_months


class _Leases(NamedTuple):
    """What every lease option through an intermediary shares: who is involved, screening and rent."""

    hub: np.ndarray
    intermediary: np.ndarray
    operator: np.ndarray
    kyc: np.ndarray  # probability that the operator's screening catches the intermediary
    rent_usd_per_h100e_month: np.ndarray
    red_flags: np.ndarray
    believed_risk_factor: np.ndarray
    pools: tuple[np.ndarray, np.ndarray]


def _leases(channel: Channel, view: ChannelView) -> _Leases:
    """The lease options of a channel served by intermediaries: one per usable intermediary, from its operator."""
    parties = view.parties
    rows = parties.usable[channel.served_by]
    hub, operator = parties.hub[rows], parties.operator[rows]
    kyc = view.operators.kyc_strictness[operator] * parties.red_flag_probability[rows]
    rent = view.hub_columns.rental_price_usd_per_h100e_month[hub] * (1 + parties.fee_share[rows])
    pools = (view.capacities.intermediary(rows), view.capacities.operator(operator))
    return _Leases(hub, rows, operator, kyc, rent, parties.red_flags[rows], parties.believed_risk_factor[rows], pools)


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

    def options(self, view: ChannelView) -> Offers:
        policy = view.cfg.policy
        lease = _leases(self, view)
        checkpoints = (Checkpoint("operator_kyc", lease.kyc, penalised=policy.remote_access.kyc_required),)
        if self.audits_on(policy):
            regulator = view.regulator.check_probability(self.name)[lease.hub]
            checkpoints += (Checkpoint("regulator_audit", np.minimum(1.0, regulator * lease.red_flags)),)
        rent = lease.rent_usd_per_h100e_month
        upfront = rent * view.cfg.world.market.lease_months
        return Offers(
            lease.hub,
            lease.intermediary,
            lease.operator,
            rent,
            upfront,
            checkpoints,
            lease.pools,
            lease.believed_risk_factor,
            np.zeros(len(rent)),
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

    def options(self, view: ChannelView) -> Offers:
        cfg = view.cfg
        transport, customs = cfg.world.data_transport, cfg.policy.customs
        lease = _leases(self, view)
        searched = view.authorities.passenger_inspection_rate()[lease.hub]
        checkpoints = (
            Checkpoint("passenger_customs", searched * customs.detection_given_drive_inspection, per_trip=True),
            Checkpoint(
                "operator_kyc", lease.kyc * transport.red_flag_factor, penalised=cfg.policy.remote_access.kyc_required
            ),
            Checkpoint("return_customs", searched * customs.detection_given_weights_inspection),
        )
        trip_cost = transport.persons_per_trip * view.hub_columns.travel_cost_usd[lease.hub]
        rent = lease.rent_usd_per_h100e_month
        return Offers(
            lease.hub,
            lease.intermediary,
            lease.operator,
            rent,
            rent * cfg.world.market.lease_months,
            checkpoints,
            lease.pools,
            lease.believed_risk_factor,
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

    def is_open(self, view: ChannelView) -> bool:
        return not view.cfg.policy.remote_access.kyc_required

    def options(self, view: ChannelView) -> Offers:
        cfg = view.cfg
        operators = view.operators
        rows = np.arange(len(operators))
        hub = operators.hub
        rent = view.hub_columns.rental_price_usd_per_h100e_month[hub]
        refusal = Checkpoint("operator_screening", operators.kyc_strictness, penalised=False)
        pools = (view.capacities.operator(rows), np.full(len(rows), UNLIMITED))
        upfront = rent * cfg.world.market.lease_months
        nobody, neutral, no_trip = np.full(len(rows), NOBODY), np.ones(len(rows)), np.zeros(len(rows))
        return Offers(hub, nobody, rows, rent, upfront, (refusal,), pools, neutral, no_trip)

    def lead_time_months(self, cfg: Config) -> int:
        return 0


#: Channel names in registry order, and those that evade the rules.
CHANNEL_NAMES: tuple[str, ...] = tuple(CHANNELS)
ILLICIT_CHANNELS: tuple[str, ...] = tuple(n for n, c in CHANNELS.items() if c.illicit)
#: Which channel each intermediary kind serves.
CHANNEL_OF_KIND: dict[IntermediaryKind, str] = {c.served_by: n for n, c in CHANNELS.items() if c.served_by}
