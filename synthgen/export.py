"""`python -m synthgen.export RUN_DIR --to FORMAT`: export a finished run or sweep (see synthgen/tools/export/)."""

import sys

from synthgen.outputs.export.command import main

if __name__ == "__main__":
    sys.exit(main())
