"""`python -m synthgen.merge`: join the fine-tuning files of several facts jobs (see synthgen/tools/merge_facts.py)."""

import sys

from synthgen.tools.merge_facts import main

if __name__ == "__main__":
    sys.exit(main())
