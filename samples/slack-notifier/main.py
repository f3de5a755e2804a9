"""Calls an HTTP API with the OAuth2 access token of the Slack connector.

The hub refreshes the token before the run and hands it over as
PAN_SEC_SLACK_OAUTH_ACCESS_TOKEN. The token is never printed.
"""
import json
import os
import sys
import urllib.error
import urllib.request


def log(message):
    print(message, file=sys.stderr, flush=True)


def main():
    token = os.environ.get("PAN_SEC_SLACK_OAUTH_ACCESS_TOKEN")
    if not token:
        log("Slack is not connected for this tenant: connect it, then run again.")
        sys.exit(1)
    base = os.environ.get("PAN_CFG_API_BASE_URL", "https://slack.com/api").rstrip("/")
    channel = os.environ.get("PAN_CFG_CHANNEL", "general")
    text = os.environ.get("PAN_CFG_MESSAGE", "The nightly sync finished.")
    body = json.dumps({"channel": channel, "text": text}).encode()
    request = urllib.request.Request(
        f"{base}/chat.postMessage",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read().decode() or "{}")
    except (urllib.error.URLError, ValueError) as e:
        log(f"Posting to {base} failed: {e}")
        sys.exit(1)
    if not answer.get("ok", False):
        log(f"Slack refused the message: {answer.get('error', 'no reason given')}")
        sys.exit(1)
    log(f"Posted to #{channel}.")
    print(json.dumps({"last_ts": answer.get("ts")}))


if __name__ == "__main__":
    main()
