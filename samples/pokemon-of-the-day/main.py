"""Dynamic configuration.

An init run prints the options for its placeholder definitions: the Pokémon types,
and (a dependent selector) the Pokémon of each type. A normal run uses the chosen
values from PAN_CFG_*.
"""
import json
import os
import sys

POKEMON = {
    "fire": ["charmander", "vulpix", "growlithe"],
    "water": ["squirtle", "psyduck", "poliwag"],
    "grass": ["bulbasaur", "oddish", "bellsprout"],
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def main():
    mode = os.environ.get("PAN_CTX_RUN_MODE", "normal")
    if mode == "init":
        log(f"Offering {len(POKEMON)} types and their Pokémon.")
        options = {
            "pokemon_types": [{"const": t, "title": t.title()} for t in POKEMON],
            "pokemon_by_type": {t: [{"const": p, "title": p.title()} for p in ps] for t, ps in POKEMON.items()},
        }
        print(json.dumps(options))
        return
    kind = os.environ.get("PAN_CFG_POKEMON_TYPE", "")
    pick = os.environ.get("PAN_CFG_POKEMON", "")
    if kind not in POKEMON:
        log("No Pokémon type is configured yet: run an init sync, then choose one.")
        sys.exit(1)
    if pick not in POKEMON[kind]:
        pick = POKEMON[kind][0]
    if os.environ.get("PAN_CFG_ANNOUNCE", "true") == "true":
        log(f"Today's {kind} Pokémon is {pick.title()}!")
    print(json.dumps({"last_pick": pick}))


if __name__ == "__main__":
    main()
