"""``pulsecl models``: the trained models shipped with pulsecl, and their model cards."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the trained models shipped with pulsecl",
        description="List the trained models shipped with pulsecl (use one with `pulsecl predict VIDEO --model NAME`); "
        "with a NAME, print its model card.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="print this model's card (data, recipe, figures, limits)")
    p.add_argument("--json", action="store_true", help="machine-readable list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pulsecl.errors import CheckpointError, did_you_mean
    from pulsecl.models import list_models

    models = list_models()
    if args.name:
        found = {m.name: m for m in models}
        if args.name not in found:
            raise CheckpointError(
                f"no shipped model '{args.name}'{did_you_mean(args.name, found)} (shipped: {', '.join(found) or 'none'})"
            )
        card = found[args.name].card
        print(card.read_text(encoding="utf-8") if card.is_file() else f"{args.name}: no model card")
        return 0
    if args.json:
        print(json.dumps([{"name": m.name, "path": str(m.path), "card": str(m.card), "summary": m.summary}
                          for m in models], indent=2))
        return 0
    if not models:
        print("no trained models are shipped with this installation")
        return 0
    for m in models:
        print(f"{m.name:<24} {m.summary}")
    print("\nuse one with: pulsecl predict VIDEO --model NAME; its card: pulsecl models NAME")
    return 0
