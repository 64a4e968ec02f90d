#!/usr/bin/env python3
"""Print an Advoware access token: POST {url} with the HMAC-SHA512-signed
JSON body Advoware's token endpoint takes (what einklang's `http`
connector cannot send itself; see examples/espo-advoware).

    scripts/advoware-token.py http://127.0.0.1:8099/advoware/api/v1/Token

Credentials from ADVOWARE_APP_ID, ADVOWARE_API_KEY (base64), ADVOWARE_USER,
ADVOWARE_PASSWORD, ADVOWARE_KANZLEI, ADVOWARE_DATABASE; the defaults are
the in-repo emulator's."""
import base64, datetime, hashlib, hmac, json, os, sys, urllib.request, uuid

env = lambda k, d: os.environ.get(k, d)
url = sys.argv[1]
app = env("ADVOWARE_APP_ID", "einklang-app")
key = env("ADVOWARE_API_KEY", base64.b64encode(b"advoware-test-key").decode())
product, nonce = "64", str(uuid.uuid4())
stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
mac = hmac.new(base64.b64decode(key), f"{product}:{app}:{nonce}:{stamp}".encode(), hashlib.sha512)
body = {
    "AppID": app, "Kanzlei": env("ADVOWARE_KANZLEI", "KANZLEI"), "Database": env("ADVOWARE_DATABASE", "ADVOWARE"),
    "User": env("ADVOWARE_USER", "einklang"), "Role": 2, "Product": int(product),
    "Password": env("ADVOWARE_PASSWORD", "advo-pass"), "Nonce": nonce,
    "HMAC512Signature": base64.b64encode(mac.digest()).decode(), "RequestTimeStamp": stamp,
}
req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(json.load(r)["access_token"])
except urllib.error.HTTPError as e:
    sys.exit(f"advoware-token: {url} → {e.code}: {e.read().decode(errors='replace')[:200]}")
