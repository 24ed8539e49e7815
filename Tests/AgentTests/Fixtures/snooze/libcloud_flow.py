#!/usr/bin/env python3
"""What a user of libcloud's Snooze driver does, with the standard library only (http.client, as libcloud's
connection does): find the group leader through the bootstrap, submit a VM from a libvirt template file, poll until
RUNNING, suspend -> PAUSED, resume -> RUNNING, shutdown -> SHUTDOWN_PENDING then OFFLINE, destroy.

Usage: libcloud_flow.py BOOTSTRAP_HOST BOOTSTRAP_PORT TEMPLATE_FILE
Prints one JSON line: the statuses seen at each step. Exits 1 naming the step that failed.
"""
import http.client
import json
import sys
import time


def call(address, port, method, query, body=None, content_type="application/json"):
    connection = http.client.HTTPConnection(address, port, timeout=120)
    headers = {"Content-Type": content_type} if body is not None else {}
    connection.request(method, "/groupmanager?" + query if method == "POST" else "/bootstrap?" + query, body, headers)
    response = connection.getresponse()
    data = response.read().decode("utf-8")
    connection.close()
    return response.status, response.getheader("Content-Type") or "", data


def fail(step, detail):
    print(json.dumps({"failed": step, "detail": detail}))
    sys.exit(1)


def main():
    host, port, template_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seen = {}
    status, content_type, data = call(host, port, "GET", "getGroupLeaderDescription")
    if status != 200 or not content_type.startswith("application/json"):
        fail("getGroupLeaderDescription", [status, content_type, data])
    leader = json.loads(data)["listenSettings"]["controlDataAddress"]
    with open(template_file) as f:
        template = f.read()
    submission = {"virtualMachineTemplates": [
        {"libVirtTemplate": template, "networkCapacityDemand": {"rxBytes": 12800, "txBytes": 12800}}]}
    status, _, task = call(leader["address"], leader["port"], "POST", "startVirtualCluster", json.dumps(submission))
    if status != 200:
        fail("startVirtualCluster", [status, task])
    deadline = time.time() + 120
    response = ""
    while time.time() < deadline:
        status, _, response = call(leader["address"], leader["port"], "POST", "getVirtualClusterResponse", task)
        if status != 200:
            fail("getVirtualClusterResponse", [status, response])
        if response:
            break
        time.sleep(0.5)
    if not response:
        fail("getVirtualClusterResponse", "never answered")
    node = json.loads(response)["virtualMachineMetaData"][0]
    seen["start"] = node["status"]
    seen["ipAddress"] = node["ipAddress"]
    if node["status"] != "RUNNING":
        fail("start", node)
    location = node["virtualMachineLocation"]
    manager = location["groupManagerControlDataAddress"]

    def act(action):
        status, _, answer = call(manager["address"], manager["port"], "POST", action, json.dumps(location))
        if status != 200 or answer != "true":
            fail(action, [status, answer])

    def state():
        status, _, answer = call(manager["address"], manager["port"], "POST", "getVirtualMachineMetaData",
                                 json.dumps(location))
        if status != 200:
            return "gone:%d" % status
        return json.loads(answer)["status"]

    act("suspendVirtualMachine")
    seen["suspend"] = state()
    act("resumeVirtualMachine")
    seen["resume"] = state()
    act("shutdownVirtualMachine")
    seen["shutdown"] = [state()]
    deadline = time.time() + 60
    while seen["shutdown"][-1] != "OFFLINE" and time.time() < deadline:
        time.sleep(0.5)
        now = state()
        if now != seen["shutdown"][-1]:
            seen["shutdown"].append(now)
    act("destroyVirtualMachine")
    seen["destroy"] = state()
    print(json.dumps(seen, sort_keys=True))


main()
