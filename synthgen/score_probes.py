"""`python -m synthgen.score_probes`: score a model on a facts run's probes (see synthgen/tools/score_probes.py)."""

import sys

from synthgen.tools.score_probes import main

if __name__ == "__main__":
    sys.exit(main())
