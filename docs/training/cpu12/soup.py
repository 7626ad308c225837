"""Average the weights of several snapshots of one run (a "model soup": every file must have
the same configuration). The first file's training metadata is kept, with ``soup`` listing
the ingredients.

    python docs/training/cpu12/soup.py -o runs/soups/derain-600-1000.safetensors SNAPSHOT...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from drcnet.weights import build_model, load_state_dict, read_metadata, save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("snapshots", nargs="+", type=Path)
    ap.add_argument("-o", "--out", required=True, type=Path)
    args = ap.parse_args()
    model = build_model(args.snapshots[0])
    states = [load_state_dict(p) for p in args.snapshots]
    keys = set(states[0])
    if any(set(s) != keys for s in states):
        raise SystemExit("the snapshots do not share one configuration")
    avg = {k: torch.stack([s[k].float() for s in states]).mean(0).to(states[0][k].dtype)
           if states[0][k].is_floating_point() else states[0][k] for k in keys}
    model.load_state_dict(avg)
    meta = {k: v for k, v in read_metadata(args.snapshots[0]).items()
            if k not in ("config", "format", "activation_limit")}
    meta["soup"] = ", ".join(str(p) for p in args.snapshots)
    save_weights(args.out, model, meta)
    print(f"wrote {args.out}: the mean of {len(states)} snapshots")


if __name__ == "__main__":
    main()
