"""A slice's life through geni-lib, a GENI client library from PyPI (GENILabTests).

geni-lib builds the request RSpec (geni.rspec.pg.Request), makes the AM API v3 calls it has (geni.minigcf.amapi3:
GetVersion, Allocate, Provision, PerformOperationalAction, Delete; it verifies the AM's certificate against the
clearinghouse root), and parses what the AM answers with its own readers (geni.rspec.pgad.Advertisement,
geni.rspec.pgmanifest.Manifest). ListResources and Status, which minigcf lacks, go through xmlrpc.client.

Usage: geni_lib_client.py URL CERT KEY ROOT_CA SLICE_URN CREDENTIAL_FILE IMAGE_NAME UNTRUSTED_CREDENTIAL_FILE
(UNTRUSTED_CREDENTIAL_FILE: a credential Allocate must refuse, tried first)
Prints one JSON object describing what geni-lib made of each answer; exits 0 when every call returned.
"""
import json
import ssl
import sys
import time
import xmlrpc.client

import geni.rspec.pg as pg
import geni.rspec.pgad as pgad
import geni.rspec.pgmanifest as pgmanifest
from geni.minigcf import amapi3

url, cert, key, root_ca, slice_urn, credential_file, image, untrusted_file = sys.argv[1:9]


class Credential:
    """What minigcf reads of a credential: its file, type and version."""

    def __init__(self, path):
        self.path = path
        self.type = "geni_sfa"
        self.version = "3"


credentials = [Credential(credential_file)]
with open(credential_file) as f:
    credential_values = [{"geni_type": "geni_sfa", "geni_version": "3", "geni_value": f.read()}]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.load_verify_locations(root_ca)
context.load_cert_chain(cert, key)
am = xmlrpc.client.ServerProxy(url, context=context, allow_none=True)
result = {}

# minigcf passes GetVersion's options as the call's parameter tuple: given as a one-element tuple they are the
# options struct the API wants (its default, a bare {}, is refused by xmlrpc.client).
version = amapi3.getversion(url, root_ca, cert, key, ({},))
result["getversion"] = {"code": version["code"]["geni_code"], "api": version["value"].get("geni_api")}

listed = am.ListResources(credential_values, {"geni_rspec_version": {"type": "GENI", "version": "3"}})
advertisement = pgad.Advertisement(xml=listed["value"])
result["advertisement"] = [
    {
        "component_id": node.component_id,
        "available": node.available,
        "sliver_types": sorted(node.sliver_types),
        "images": sorted(image.name for images in node.images.values() for image in images),
    }
    for node in advertisement.nodes
]

request = pg.Request()
node = pg.Node("lib-node", "small", exclusive=False)
node.disk_image = image
request.addResource(node)
request_xml = request.toXMLString(pretty_print=True, ucode=True)
result["request"] = request_xml


def manifest_nodes(xml):
    manifest = pgmanifest.Manifest(xml=xml)
    return [
        {
            "client_id": n.client_id,
            "sliver_id": n.sliver_id,
            "component_id": n.component_id,
            "logins": [{"auth": l.auth, "hostname": l.hostname, "port": l.port, "username": l.username} for l in n.logins],
        }
        for n in manifest.nodes
    ]


refused = amapi3.allocate(url, root_ca, cert, key, [Credential(untrusted_file)], slice_urn, request_xml)
result["allocate without the intermediate"] = {"code": refused["code"]["geni_code"], "output": refused.get("output", "")}

allocated = amapi3.allocate(url, root_ca, cert, key, credentials, slice_urn, request_xml)
result["allocate"] = {"code": allocated["code"]["geni_code"], "output": allocated.get("output", "")}
if allocated["code"]["geni_code"] == 0:
    result["allocate"]["nodes"] = manifest_nodes(allocated["value"]["geni_rspec"])
    provisioned = amapi3.provision(url, root_ca, cert, key, credentials, slice_urn)
    result["provision"] = {"code": provisioned["code"]["geni_code"], "output": provisioned.get("output", "")}
    if provisioned["code"]["geni_code"] == 0:
        result["provision"]["nodes"] = manifest_nodes(provisioned["value"]["geni_rspec"])
    started = amapi3.poa(url, root_ca, cert, key, credentials, slice_urn, "geni_start")
    result["start"] = {
        "code": started["code"]["geni_code"],
        "states": [s.get("geni_operational_status") for s in (started["value"] or [])],
    }
    # Once started, the VM gets an address and the manifest a <login>: Describe until it does (90 s at most).
    deadline = time.monotonic() + 90
    while True:
        described = am.Describe([slice_urn], credential_values, {"geni_rspec_version": {"type": "GENI", "version": "3"}})
        result["described"] = manifest_nodes(described["value"]["geni_rspec"])
        if any(n["logins"] for n in result["described"]) or time.monotonic() > deadline:
            break
        time.sleep(2)
    status = am.Status([slice_urn], credential_values, {})
    result["status"] = [s.get("geni_operational_status") for s in status["value"].get("geni_slivers", [])]
    deleted = amapi3.delete(url, root_ca, cert, key, credentials, slice_urn)
    result["delete"] = {
        "code": deleted["code"]["geni_code"],
        "states": [s.get("geni_allocation_status") for s in (deleted["value"] or [])],
    }
print(json.dumps(result, default=str))
