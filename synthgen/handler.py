"""`synthgen.handler.run(payload)` and `python -m synthgen.handler < payload.json` (see synthgen/tools/handler.py)."""

from synthgen.tools.handler import main, run

__all__ = ["run"]

if __name__ == "__main__":
    main()
