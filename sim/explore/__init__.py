"""The browser explorer: ``python -m sim.explore`` (docs/explore.md).

The page (``sim.explore.app``, Solara) only draws; what it shows is computed by plain modules:
``controls`` (the controls, from the config schema), ``compare`` (runs over seeds, intervals
and paired differences), ``stepper`` (one run month by month) and ``charts`` (the figures).
"""

#: Environment variable: worker processes the page runs on (0: runs in the server process).
WORKERS_ENV = "EXPORTSIM_EXPLORE_WORKERS"
