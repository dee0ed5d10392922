"""``python -m baselines.train --config baselines/configs/vgg16.py --workdir runs/vgg16``.

Train and score one configured model; every other option of ``python -m baselines`` may
follow (``--data``, ``--image-size``, ``--weights``, ...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import main as run_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baselines.train", add_help=True,
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True,
                        help="a file in baselines/configs/ (resnet50.py, vgg16.py, "
                             "efficientnetb0.py)")
    parser.add_argument("--workdir", type=Path, required=True, help="run folder")
    args, rest = parser.parse_known_args(argv)
    model = args.config.stem
    if not (Path(__file__).parent / "configs" / f"{model}.py").is_file() or model == "common":
        print(f"baselines.train: error: {args.config}: not a model configuration in "
              "baselines/configs/", file=sys.stderr)
        return 2
    return run_main(["--models", model, "--workdir", str(args.workdir), *rest])


if __name__ == "__main__":
    sys.exit(main())
