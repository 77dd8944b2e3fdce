"""``python -m fhir_family.guide.examples [EXAMPLES_DIR]``: regenerate the example bundles."""

from __future__ import annotations

import sys
from pathlib import Path

from fhir_family.guide import examples_dir
from fhir_family.guide.examples import build_examples


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m fhir_family.guide.examples [EXAMPLES_DIR]", file=sys.stderr)
        return 2
    root = Path(args[0]) if args else examples_dir()
    written = build_examples(root)
    print(f"{len(written)} example files under {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
