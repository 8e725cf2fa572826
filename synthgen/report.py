"""`python -m synthgen.report DIR`: write report.html for an earlier run or sweep (see synthgen/outputs/report/)."""

import sys

from synthgen.outputs.report.command import main

if __name__ == "__main__":
    sys.exit(main())
