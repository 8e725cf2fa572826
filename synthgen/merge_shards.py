"""`python -m synthgen.merge_shards`: join the shards of one job (see synthgen/tools/merge_shards.py)."""

import sys

from synthgen.tools.merge_shards import main

if __name__ == "__main__":
    sys.exit(main())
