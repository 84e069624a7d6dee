"""Write layers/core/requirements.txt from pyproject.toml's pins (``make requirements``): the
layer SAM builds and the .venv the tests run in must hold the same versions."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADER = (
    "# Generated from pyproject.toml [project.dependencies] by `make requirements`; do not edit."
)


def main() -> None:
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (REPO / "layers/core/requirements.txt").write_text("\n".join([HEADER, *pins]) + "\n")


if __name__ == "__main__":
    main()
