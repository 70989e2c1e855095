"""The configuration schema: the one source of every key, its unit, range and meaning.

Values live in the YAML files under ``configs/``; this module says what they may be.
Every field carries a description and a unit, which ``python -m sim.docs`` turns into
``docs/config.md``. Models are frozen: a run never mutates its config, and a timeline
event produces a new validated config.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, create_model, field_validator, model_validator

from sim.levers import LEVERS, Lever
from sim.schema import READ_ONLY, PlainName, Schema, field
from sim.timeline import EVENT_PATHS_CHECKED, Event, check_event_path, check_year_month

# --------------------------------------------------------------------------- world


#: A chip's performance relative to an H100: positive, and at most 100 times it.
Performance = Annotated[float, Field(gt=0, le=100)]

#: The settings of a hub that raise detection when raised: an event raising any of them tightens it.
ENFORCEMENT_FIELDS = ("cargo_inspection_rate", "passenger_inspection_rate", "cooperation", "kyc_baseline")


class Hub(Schema):
    """A third country where chips are bought, servers rented and fronts registered."""

    latitude_deg: float = field("Latitude of its main data-centre cluster.", "degrees", ge=-90, le=90)
    longitude_deg: float = field("Longitude of its main data-centre cluster.", "degrees", ge=-180, le=180)
    tier: int = field("Diffusion-rule country tier: 1 no cap, 2 capped, 3 embargoed.", "", ge=1, le=3, timeline=True)
    shipping_cost_usd_per_h100e: float = field(
        "Cost of moving one H100e of smuggled servers from the hub into China (transport, transshipment, relabelling).",
        "USD/H100e",
        ge=0,
        timeline=True,
    )
    import_cap_h100e_per_year: float | None = field(
        "The hub's own annual import cap on advanced chips; null for none.", "H100e/year", ge=0, timeline=True
    )
    rental_capacity_h100e: float = field("GPU capacity leasable to third parties at the start.", "H100e", ge=0)
    rental_price_usd_per_h100e_month: float = field(
        "Price of leasing one H100e for one month.", "USD/H100e-month", ge=0, timeline=True
    )
    cargo_inspection_rate: float = field(
        "Share of outbound cargo physically inspected by customs.", "probability", ge=0, le=1, timeline=True
    )
    passenger_inspection_rate: float = field(
        "Share of travellers whose luggage is searched.", "probability", ge=0, le=1, timeline=True
    )
    cooperation: float = field(
        "Probability that the local authority acts on a US request or end-use check.",
        "probability",
        ge=0,
        le=1,
        timeline=True,
    )
    travel_cost_usd: float = field("Round trip for one engineer, with stay.", "USD", ge=0, timeline=True)
    kyc_baseline: float = field(
        "Default probability that its operators screen out a customer with red flags.",
        "probability",
        ge=0,
        le=1,
        timeline=True,
    )
    operators: int = field("Data-centre operators leasing capacity in the hub.", "count", ge=1, le=20)
    resellers: int = field("Chip resellers registered at the start.", "count", ge=0, le=50)
    front_companies: int = field(
        "Front companies that lease servers for restricted firms, at the start.", "count", ge=0, le=50
    )
    logistics_brokers: int = field(
        "Local entities that arrange data-transport trips and lease servers, at the start.",
        "count",
        ge=0,
        le=50,
    )

    def is_stricter_than(self, other: Hub) -> bool:
        """Whether any of its enforcement settings is higher than ``other``'s."""
        return any(getattr(self, f) > getattr(other, f) for f in ENFORCEMENT_FIELDS)


class DomesticSupply(Schema):
    """China's own accelerator supply: the lesser of what its logic dies and its HBM allow."""

    chip: str = field("Domestic chip sold, a key of world.chips.")
    wafers_per_month: float = field(
        "Advanced-node (7 nm) wafers a month that the domestic foundry starts for the chip's dies.",
        "wafers/month",
        ge=0,
    )
    wafer_growth_per_month: float = field("Monthly growth of those wafer starts.", "share/month", ge=-0.5, le=1)
    wafer_growth_until: str | None = field(
        "Last month of wafer growth, YYYY-MM; held at that month's level after it (null: grows throughout).",
        default=None,
    )
    dies_per_wafer: float = field("Candidate dies of the chip's size on one wafer.", "dies/wafer", gt=0)
    die_yield: float = field("Share of candidate dies that work.", "share", gt=0, le=1)
    dies_per_chip: int = field("Logic dies packaged into one chip.", "dies/chip", ge=1, le=16)
    hbm_stacks_per_month: float = field(
        "High-bandwidth-memory stacks a month available to package the chip.", "stacks/month", ge=0
    )
    hbm_growth_per_month: float = field("Monthly growth of the HBM stacks available.", "share/month", ge=-0.5, le=1)
    hbm_growth_until: str | None = field(
        "Last month of HBM growth, YYYY-MM; held at that month's level after it (null: grows throughout).",
        default=None,
    )
    stacks_per_chip: int = field("HBM stacks packaged with one chip.", "stacks/chip", ge=1, le=32)
    price_usd_per_chip: float = field("Price of one domestic chip.", "USD/chip", ge=0)

    _until = field_validator("wafer_growth_until", "hbm_growth_until")(
        classmethod(lambda cls, v: v if v is None else check_year_month(v))
    )


class Market(Schema):
    """Prices and accounting shared by every channel."""

    h100_price_usd: float = field("List price of one H100 outside China at the start.", "USD/H100e", gt=0)
    gray_premium: float = field(
        "Gray-market price over list price at the start, with no scarcity and no seizures.", "ratio", ge=1, le=10
    )
    list_price_decline_per_month: float = field(
        "Monthly fall of the list price per H100e as newer chip generations arrive.", "share/month", ge=0, lt=0.2
    )
    premium_halving_h100e: float | None = field(
        "Smuggled chips delivered since the start over which the gray premium over list price "
        "halves as the trade grows (null: the premium does not fall with volume).",
        "H100e",
        gt=0,
        default=None,
    )
    scarcity_elasticity: float = field(
        "Rise of the gray-market price per unit of scarcity S, the smoothed unmet demand share (docs/ODD.md, 7.1).",
        "ratio",
        ge=0,
        le=10,
    )
    seizure_elasticity: float = field(
        "Rise of the gray-market price per unit of Z, the smoothed share of smuggled chips seized (docs/ODD.md, 7.1).",
        "ratio",
        ge=0,
        le=10,
    )
    price_adjustment: float = field(
        "Share of the gap to last month's scarcity and seizure signals that the gray-market "
        "price (and operators' risk appetite) closes each month.",
        "share/month",
        gt=0,
        le=1,
    )
    amortisation_months: int = field("Straight-line amortisation of a bought chip.", "months", ge=1, le=120)
    opex_usd_per_h100e_month: float = field("Power, hosting and staff for one owned H100e.", "USD/H100e-month", ge=0)
    lease_months: int = field("Length of one server lease.", "months", ge=1, le=60)
    smuggling_lead_time_months: int = field(
        "Months from a smuggling order to delivery in China.", "months", ge=0, le=24
    )
    compliant_lead_time_months: int = field("Months from a compliant-chip order to delivery.", "months", ge=0, le=24)
    domestic_lead_time_months: int = field("Months from a domestic-chip order to delivery.", "months", ge=0, le=24)


class FirmClass(Schema):
    """One size class of restricted AI firms (every firm in a class starts alike)."""

    count: int = field(
        "Firms of this class (cost is linear in firms; 100,000 a class keeps a run's arrays within memory).",
        "count",
        ge=0,
        le=100_000,
    )
    demand_h100e_months: float = field("Compute one firm wants per month at the start.", "H100e-months/month", ge=0)
    demand_growth_per_month: float = field("Monthly growth of demand.", "share/month", ge=-0.5, le=1)
    budget_usd_per_month: float = field(
        "Money a firm can commit to new compute each month (chip prices, whole leases).",
        "USD/month",
        ge=0,
    )
    value_usd_per_h100e_month: float = field(
        "What one H100e-month of compute is worth to the firm.", "USD/H100e-month", ge=0
    )
    risk_aversion: float = field(
        "Weight lambda on expected losses and fines (1 = risk neutral).", "ratio", ge=1, le=100
    )
    inference_share: float = field(
        "Share of the firm's compute demand that is inference (serving models) rather than training.",
        "share",
        ge=0,
        le=1,
    )
    dataset_tb: float = field("Training data a data-transport run must carry.", "TB", ge=0)
    stock_h100e: float = field("Chips stockpiled before the rules.", "H100e", ge=0)


class FirmPopulation(Schema):
    """Restricted AI firms."""

    classes: Annotated[dict[str, FirmClass], READ_ONLY] = field("Size classes (frontier lab, big tech, startup).")
    stock_depreciation_per_month: float = field("Share of owned chips retired each month.", "share/month", ge=0, le=1)

    @field_validator("classes")
    @classmethod
    def _some_firms(cls, classes: dict[str, FirmClass]) -> dict[str, FirmClass]:
        if sum(c.count for c in classes.values()) < 1:
            raise ValueError("at least one firm is needed (every class has count 0)")
        return classes


class Ownership(StrEnum):
    """Who owns an intermediary."""

    SUBSIDIARY = "subsidiary"
    LOCAL_FRONT = "local_front"


class IntermediaryRules(Schema):
    """Resellers, front companies and logistics brokers in the hubs."""

    capacity_h100e_per_month: float = field("Volume one intermediary can handle in a month.", "H100e/month", ge=0)
    fee_share: float = field(
        "Fee of a subsidiary intermediary as a share of the goods' or lease's price.", "share", ge=0, le=5
    )
    local_front_fee_premium: float = field(
        "Extra fee share charged by a local front over a subsidiary.", "share", ge=0, le=5
    )
    local_front_share: float = field(
        "Probability that an intermediary is a local front (local directors).", "probability", ge=0, le=1
    )
    owner_groups: int = field(
        "Owner groups per kind of owner: a subsidiary's Chinese parent spans hubs, a local "
        "front's director network is local to its hub; affiliates share an owner.",
        "count",
        ge=1,
        le=100,
    )
    registration_rate_per_month: float = field(
        "Expected new intermediaries per hub per month (Poisson) when every kind and hub is fully used and safe.",
        "1/month",
        ge=0,
        le=20,
    )
    entry_base_weight: float = field(
        "Entry weight of a kind and hub with no business yet, relative to one whose intermediaries are fully used.",
        "ratio",
        ge=0,
        le=10,
    )
    entry_risk_sensitivity: float = field(
        "Exponent k of an entrant's hub weight (1 - detection risk)^k (0: hubs alike).", "", ge=0, le=100
    )
    registration_delay_months: int = field("Months before a new intermediary is usable.", "months", ge=0, le=24)
    relocation_delay_months: int = field(
        "Months before a subsidiary that moved to another hub trades there again.", "months", ge=0, le=24
    )
    red_flag_rate: float = field(
        "Probability that a subsidiary intermediary with no history shows red flags to a screener.",
        "probability",
        ge=0,
        le=1,
    )
    idle_exit_months: int = field("Months without business after which an intermediary closes.", "months", ge=1, le=120)
    exposure_per_kh100e: float = field(
        "Rise of an intermediary's detection multiplier per 1,000 H100e it has handled.",
        "1/kH100e",
        ge=0,
        le=10,
    )


class OperatorRules(Schema):
    """Data-centre operators."""

    legit_demand_share: float = field(
        "Share of an operator's capacity that legitimate customers want.", "share", ge=0, le=1
    )
    risk_appetite: float = field(
        "How much high prices lower an operator's KYC strictness (0 never).", "ratio", ge=0, le=1
    )
    capacity_cut_share: float = field(
        "Share of capacity an operator loses when caught serving a restricted firm.", "share", ge=0, le=1
    )
    capacity_growth_per_month: float = field(
        "Monthly capacity growth an operator seeks, within the hub's import quota.", "share/month", ge=0, le=1
    )
    import_ahead_months: float = field(
        "How many months ahead of its growth path an operator imports while a cap on its hub is announced.",
        "months",
        ge=0,
        le=24,
    )
    kyc_false_positive_rate: float = field(
        "Probability that screening refuses a legitimate customer, per unit of strictness.",
        "probability",
        ge=0,
        le=1,
    )


class DataTransportTrips(Schema):
    """Flying training data to a hub and weights back (WSJ, June 2025)."""

    persons_per_trip: int = field("Engineers flying per trip.", "persons", ge=1, le=50)
    drives_per_person: int = field("Hard drives one engineer carries.", "drives", ge=1, le=100)
    drive_tb: float = field("Capacity of one drive.", "TB", gt=0)
    prep_months: int = field("Preparation before the lease starts.", "months", ge=0, le=24)
    red_flag_factor: float = field("KYC red flags of a local entity relative to a front company.", "ratio", ge=0, le=1)


class World(Schema):
    """The world at one month (as_of): hubs, supply, markets and the populations of agents."""

    as_of: str = field(
        "The month the world's values describe, YYYY-MM: its stockpiles, demand, prices, capacities and the "
        "starts of its supply paths. A run starts then (start)."
    )
    chips: Annotated[dict[str, Performance], READ_ONLY] = field(
        "Training performance of each chip relative to an H100 (by TPP): its H100e.", "H100e/chip"
    )
    inference_chips: Annotated[dict[str, Performance], READ_ONLY] = field(
        "Chips bought to serve inference (memory-bound work), with their inference performance relative to an "
        "H100; they serve only a firm's inference demand. Other chips count at their training H100e for all work.",
        "H100e/chip",
    )
    hubs: Annotated[dict[str, Hub], READ_ONLY] = field("Third countries, by name.")
    domestic: DomesticSupply = field("China's domestic accelerator supply.")
    market: Market = field("Prices and accounting.")
    firms: FirmPopulation = field("Restricted AI firms.")
    intermediaries: IntermediaryRules = field("Intermediaries in the hubs.")
    operators: OperatorRules = field("Data-centre operators.")
    data_transport: DataTransportTrips = field("The data-transport channel.")

    _as_of = field_validator("as_of")(classmethod(lambda cls, v: check_year_month(v)))

    @field_validator("hubs")
    @classmethod
    def _some_hubs(cls, hubs: dict[str, Hub]) -> dict[str, Hub]:
        if not hubs:
            raise ValueError("at least one hub is needed")
        return hubs

    @model_validator(mode="after")
    def _chips_known(self) -> World:
        unknown = sorted(set(self.inference_chips) - set(self.chips))
        if unknown:
            raise ValueError(
                f"world.inference_chips names {unknown}, not in world.chips (allowed: {', '.join(self.chips)})"
            )
        if self.domestic.chip not in self.chips:
            raise ValueError(
                f"domestic.chip {self.domestic.chip!r} is not in world.chips (allowed: {', '.join(self.chips)})"
            )
        return self


# -------------------------------------------------------------------------- policy


class PolicyBase(Schema):
    """The rules in force; any of them can change on the scenario's timeline."""

    def levers(self) -> list[Lever]:
        """Every lever's section, in registry order."""
        return [getattr(self, key) for key in LEVERS]


#: One section per registered lever (``sim.levers``), e.g. ``policy.customs``. A lever with its own
#: config group (``configs/policy/<lever>/``) gets its values from there, ``off`` unless chosen.
Policy = create_model(
    "Policy",
    __base__=PolicyBase,
    __doc__=PolicyBase.__doc__,
    **{key: (lever, field(lever.summary())) for key, lever in LEVERS.items()},
)


# ------------------------------------------------------------------------ behaviour


class BeliefInit(StrEnum):
    """How firms' detection beliefs start."""

    PRIOR = "prior"
    TRUE = "true"


class Behaviour(Schema):
    """How firms decide and learn."""

    temperature: float = field(
        "Logit temperature relative to the firm's value of compute (0: all to the best option).",
        "ratio",
        ge=0,
        le=10,
    )
    learning: bool = field("Whether beliefs update from outcomes and news.", switch=True)
    beliefs: BeliefInit = field(
        "'prior': Beta(prior_a, prior_b) per channel and hub; 'true': beliefs equal the true "
        "detection probabilities every month (an oracle, for checks)."
    )
    prior_a: float = field("Prior Beta pseudo-count of detections.", "count", gt=0)
    prior_b: float = field("Prior Beta pseudo-count of passed transactions.", "count", gt=0)
    belief_decay: float = field(
        "Monthly retention of evidence; the rest reverts to the prior (1 never forgets).",
        "share/month",
        ge=0,
        le=1,
    )
    news_weight: float = field(
        "Pseudo-detections a firm adds per public detection in a channel and hub.", "count", ge=0, le=10
    )
    news_trials: float = field(
        "Pseudo-transactions a firm adds per public detection (detections plus passes).",
        "count",
        ge=0,
        le=100,
    )
    climate_weight: float = field(
        "Pseudo-transactions a month by which firms learn each cell's current true detection "
        "probability (public enforcement reports; 0: off).",
        "count",
        ge=0,
        le=100,
    )
    min_order_share: float = field(
        "Options with a smaller logit share of unmet demand are not ordered.", "share", ge=0, le=1
    )
    max_rounds: int = field("Re-splits of demand left over when capacities fill.", "count", ge=1, le=20)
    front_load_months: float = field(
        "Months of the demand a channel of chips serves that a firm buys ahead through it once a rule that will "
        "close it is announced (0: no anticipation).",
        "months",
        ge=0,
        le=24,
    )

    @model_validator(mode="after")
    def _news_trials_cover_detections(self) -> Behaviour:
        if self.news_trials < self.news_weight:
            raise ValueError(
                f"behaviour.news_trials ({self.news_trials}) must be >= behaviour.news_weight "
                f"({self.news_weight}): a public detection adds news_weight detections out of news_trials"
            )
        return self


class Paths(Schema):
    """Where a run writes."""

    results: str = field("Folder for results, relative to the working directory or absolute.", min_length=1)


class Config(Schema):
    """A complete, validated run configuration."""

    name: PlainName = field("Scenario name; results go under results/runs/<name>/.")
    description: str = field("What the scenario represents.")
    seed: int = field("Seed of the run's one random generator.", "", ge=0, le=2**63 - 1)
    start: str = field("First month, YYYY-MM: the month the world describes, world.as_of.")
    months: int = field("Months simulated.", "months", ge=1, le=600)
    world: World = field("The world.")
    policy: Policy = field(  # type: ignore[valid-type]
        "The rules in force at the start.", timeline=True
    )
    behaviour: Behaviour = field("Firm behaviour.")
    timeline: Annotated[dict[str, Event], READ_ONLY] = field("Dated changes of settable values, by event name.")
    paths: Paths = field("Output paths.")

    _start = field_validator("start")(classmethod(lambda cls, v: check_year_month(v)))

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Config:
        if self.start != self.world.as_of:
            raise ValueError(
                f"start {self.start!r} is not the month the world describes (world.as_of {self.world.as_of!r}): "
                "the world's stockpiles, demand, prices and the starts of its supply paths are that month's; "
                f"allowed: the same month in both, start={self.world.as_of}, or world.as_of={self.start} once the "
                f"world's values describe {self.start}"
            )
        if self.policy.compliant_chips.chip not in self.world.chips:
            raise ValueError(
                f"policy.compliant_chips.chip {self.policy.compliant_chips.chip!r} is not in "
                f"world.chips (allowed: {', '.join(self.world.chips)})"
            )
        unknown = sorted(set(self.policy.country_caps.hubs) - set(self.world.hubs))
        if unknown:
            raise ValueError(
                f"policy.country_caps.hubs names unknown hubs {unknown} (allowed: {', '.join(self.world.hubs)})"
            )
        if info.context == EVENT_PATHS_CHECKED:
            return self
        for name, event in self.timeline.items():
            for path in {**event.set, **(event.expected or {})}:
                check_event_path(self, name, path)
        return self

    def config_hash(self) -> str:
        """A short stable hash of the whole config."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
