"""The GENI AM API v3 cycle with Python's xmlrpc.client over TLS with a client certificate (GENILabTests).

Usage: geni_client.py URL CERT KEY SLICE_URN OTHER_SLICE_URN CREDENTIALS_DIR
(CREDENTIALS_DIR holds the signed GENI SFA credentials GENILabTests made: slice.xml, other.xml, user.xml, ...)
Prints one JSON line per step: {"step": ..., "code": geni_code, "output": ..., "value": ...}; exits 0 when every
step ran (the Swift test judges the answers).
"""
import base64
import json
import re
import ssl
import sys
import time
import xmlrpc.client
import zlib

url, cert, key, slice_urn, other_urn, credentials_dir = sys.argv[1:7]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.load_cert_chain(cert, key)
am = xmlrpc.client.ServerProxy(url, context=context, allow_none=True)
version = {"type": "GENI", "version": "3"}


def credential(name):
    with open(f"{credentials_dir}/{name}.xml") as f:
        return [{"geni_type": "geni_sfa", "geni_version": "3", "geni_value": f.read()}]


credentials = credential("slice")
other_credentials = credential("other")
user_credentials = credential("user")


def step(name, reply, value=None):
    code = reply["code"]["geni_code"]
    shown = reply["value"] if value is None else value
    print(json.dumps({"step": name, "code": code, "output": reply.get("output", ""), "value": shown},
                     default=str), flush=True)
    return reply


request = """<?xml version="1.0" encoding="UTF-8"?>
<rspec type="request" xmlns="http://www.geni.net/resources/rspec/3"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.geni.net/resources/rspec/3 http://www.geni.net/resources/rspec/3/request.xsd">
  <node client_id="node-1" exclusive="false"><sliver_type name="small"/></node>
</rspec>"""

step("GetVersion", am.GetVersion({}))
step("ListResources without credentials", am.ListResources([], {"geni_rspec_version": version}))
plain = step("ListResources", am.ListResources(user_credentials, {"geni_rspec_version": version}), value="(rspec)")
print(json.dumps({"step": "advertisement", "value": plain["value"]}), flush=True)


def same_but_time(a, b):
    # Two calls may fall in different seconds: the RSpec's generated="..." time may differ, nothing else.
    strip = lambda text: re.sub(r'generated="[^"]*"', 'generated=""', text)
    return strip(a) == strip(b)


zipped = am.ListResources(user_credentials, {"geni_rspec_version": version, "geni_compressed": True})
unzipped = zlib.decompress(base64.b64decode(zipped["value"])).decode()
print(json.dumps({"step": "compressed", "code": zipped["code"]["geni_code"], "same": same_but_time(unzipped, plain["value"]),
                  "smaller": len(base64.b64decode(zipped["value"])) < len(plain["value"].encode())}), flush=True)
step("ListResources without a version", am.ListResources(user_credentials, {}))
step("ListResources of version 2", am.ListResources(user_credentials, {"geni_rspec_version": {"type": "GENI", "version": "2"}}))

step("Allocate without credentials", am.Allocate(slice_urn, [], request, {}))
for name, file in [("expired", "expired"), ("with another slice's", "other"), ("signed under an unknown root", "unknown-root"),
                   ("with bob's", "bobs"), ("info only", "info-only"), ("tampered", "tampered"),
                   ("self-signed", "self-signed")]:
    step(f"Allocate {name}", am.Allocate(slice_urn, credential(file), request, {}))
step("Allocate garbage", am.Allocate(slice_urn, [{"geni_type": "geni_sfa", "geni_version": "3", "geni_value": "<signed-credential><x"}], request, {}))
step("Allocate", am.Allocate(slice_urn, credentials, request, {}))
step("Allocate again", am.Allocate(slice_urn, credentials, request, {}))
step("Allocate malformed", am.Allocate(other_urn, other_credentials, "<rspec><node", {}))
step("Allocate empty", am.Allocate(other_urn, other_credentials, "", {}))
step("Allocate unknown type", am.Allocate(other_urn, other_credentials, request.replace("small", "enormous"), {}))
step("Status", am.Status([slice_urn], credentials, {}))
step("Describe", am.Describe([slice_urn], credentials, {"geni_rspec_version": version}))
soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))
step("Renew", am.Renew([slice_urn], credentials, soon, {}))
far = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 400 * 86400))
step("Renew past the maximum", am.Renew([slice_urn], credentials, far, {}))
step("Status of a slice not here", am.Status(["urn:publicid:IDN+ch.example+slice+nothing"], credential("nothing"), {}))
users = [{"urn": "urn:publicid:IDN+ch.example+user+alice", "keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG alice@lab"]}]
step("Provision", am.Provision([slice_urn], credentials, {"geni_users": users}))
step("PerformOperationalAction", am.PerformOperationalAction([slice_urn], credentials, "geni_start", {}))
deadline = time.time() + 120
while True:
    status = am.Status([slice_urn], credentials, {})
    states = [s["geni_operational_status"] for s in status["value"]["geni_slivers"]]
    if all(s == "geni_ready" for s in states) or time.time() > deadline:
        break
    time.sleep(1)
step("Status ready", status)
step("Describe provisioned", am.Describe([slice_urn], credentials, {"geni_rspec_version": version}))
step("Delete", am.Delete([slice_urn], credentials, {}))
step("Status after Delete", am.Status([slice_urn], credentials, {}))

step("Allocate second", am.Allocate(other_urn, other_credentials, request.replace("node-1", "node-2"), {}))
step("Provision second", am.Provision([other_urn], other_credentials, {"geni_users": users}))
step("Start second", am.PerformOperationalAction([other_urn], other_credentials, "geni_start", {}))
step("Shutdown", am.Shutdown(other_urn, other_credentials, {}))
step("Status after Shutdown", am.Status([other_urn], other_credentials, {}))
