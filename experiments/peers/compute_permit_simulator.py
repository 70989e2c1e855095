"""compute-permit-simulator as a ``python -m sim.bench --peer`` server (the protocol: ``sim.bench.PEER_PROTOCOL``).

compute-permit-simulator (https://github.com/JTuffy/compute-permit-simulator) is another Mesa
model of compute governance; this adapter was written against its commit 0dbb563 and is not
part of it. Its agents are the labs (Mesa agents whose ``step`` does nothing; the model's step
runs their decisions), so an agent-step is a lab in a step. It needs Python 3.13::

    git clone https://github.com/JTuffy/compute-permit-simulator /path/to/cps
    python3.13 -m venv /path/to/cps-venv
    /path/to/cps-venv/bin/pip install mesa==3.5.1 pydantic pandas networkx
    python -m sim.bench --peer "cps-default=/path/to/cps-venv/bin/python
        experiments/peers/compute_permit_simulator.py /path/to/cps"   (on one line)

A second argument, one of its ``scenarios/*.json`` files, runs that scenario instead of its
default (10 labs, 10 steps).
"""

import json
import logging
import sys
import time
import warnings
from pathlib import Path

checkout = Path(sys.argv[1])
sys.path.insert(0, str(checkout / "src"))
warnings.simplefilter("ignore")  # its Model(seed=...) is deprecated in Mesa 3.5
logging.getLogger("mesa").setLevel(logging.WARNING)

from compute_permit_sim.schemas import ScenarioConfig  # noqa: E402 (from the checkout above)
from compute_permit_sim.services.mesa_model import ComputePermitModel  # noqa: E402

scenario = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else {}
base = ScenarioConfig.model_validate(scenario)


def agent_steps(seed: int) -> int:
    """Build its model with ``seed`` and run it: the agents stepped, summed over its steps."""
    cfg = base.model_copy(update={"seed": seed})
    model = ComputePermitModel(cfg)
    steps = 0
    for _ in range(cfg.steps):
        model.step()
        steps += len(model.agents)
    return steps


agent_steps(0)  # warm-up
print("ready", flush=True)
for line in sys.stdin:
    began = time.perf_counter()
    steps = agent_steps(int(line))
    print(time.perf_counter() - began, steps, flush=True)
