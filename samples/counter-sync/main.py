"""A plain sync: counts its runs.

Reads its configuration from PAN_CFG_*, the previous run's context from
PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT, logs to stderr, and prints its new context (a
JSON object with the counter) as the last line of stdout.
"""
import json
import os
import sys


def log(message):
    print(message, file=sys.stderr, flush=True)


def main():
    greeting = os.environ.get("PAN_CFG_GREETING", "Hello")
    step = int(os.environ.get("PAN_CFG_STEP", "1"))
    verbose = os.environ.get("PAN_CFG_VERBOSE", "false") == "true"
    tenant = os.environ.get("PAN_CTX_TENANT_NAME", "unknown tenant")
    mode = os.environ.get("PAN_CTX_RUN_MODE", "normal")

    previous = {}
    raw = os.environ.get("PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT", "")
    if raw:
        try:
            previous = json.loads(raw)
        except ValueError:
            log("The previous context was not JSON; starting from zero.")

    counter = int(previous.get("counter", 0)) + step
    log(f"{greeting}, {tenant}! This is a {mode} run; the counter is now {counter}.")
    if verbose:
        for name in sorted(k for k in os.environ if k.startswith("PAN_CTX_")):
            log(f"  {name} is set")
    print(json.dumps({"counter": counter}))


if __name__ == "__main__":
    main()
