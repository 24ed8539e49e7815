import Foundation
import Logging
import Testing
import Wire

@testable import Manager

/// Snooze's REST API on the manager's HTTP front, called with curl (the seeds' commands) and raw sockets, against
/// a group leader whose hosts are `FakeGroupManager`'s. Replies are checked field by field against the seeds' shapes.
@Suite(.enabled(if: Curl.available || requiresEndToEnd, "needs /usr/bin/curl (scripts/install-deps)"))
struct SnoozeAPITests {
    /// The fake's 8-core, 64 GiB, 1 Gbit/s host as Snooze's [cores, memory KiB, rx KiB/s, tx KiB/s].
    static let hostCapacity: [Double] = [8, 67_108_864, 122_070.3125, 122_070.3125]
    static let twoHostsCapacity: [Double] = [16, 134_217_728, 244_140.625, 244_140.625]
    static let nothing: [Double] = [0, 0, 0, 0]

    // MARK: Bootstrap

    @Test func theBootstrapDescribesTheLeaderAtTheFrontsOwnAddress() async throws {
        try await SnoozeFront.with { front in
            // The seed's command: curl localhost:5000/bootstrap?getGroupLeaderDescription
            let reply = try await Curl.run(["localhost:\(front.port)/bootstrap?getGroupLeaderDescription"])
            #expect(reply.status == 200, "\(reply)")
            #expect(reply.contentType.hasPrefix("application/json"), "\(reply)")
            let leader = try reply.object()
            #expect(leader["id"] as? String == SnoozeFront.managerID)
            #expect(leader["hostname"] as? String == "localhost")
            let listen = try #require(leader["listenSettings"] as? [String: Any])
            let control = try #require(listen["controlDataAddress"] as? [String: Any])
            // The client's next calls go here: this very port.
            #expect(control["address"] as? String == "localhost")
            #expect(control["port"] as? Int == front.port)
            let monitoring = try #require(listen["monitoringDataAddress"] as? [String: Any])
            #expect(monitoring["port"] as? Int == 7700)
            #expect((leader["localControllers"] as? [String: Any])?.isEmpty == true)
            #expect((leader["summaryInformation"] as? [String: Any])?.isEmpty == true)
            #expect((leader["virtualMachines"] as? [Any])?.isEmpty == true)
            let heartbeat = try #require(leader["heartbeatAddress"] as? [String: Any])
            #expect(heartbeat["address"] as? String == "UNKNOWN" && heartbeat["port"] as? Int == -1)
        }
    }

    @Test func theLocalControllerListShowsEveryHostWithSnoozeCapacityVectors() async throws {
        try await SnoozeFront.with(hosts: ["h1", "h2"]) { front in
            let reply = try await Curl.run(["localhost:\(front.port)/bootstrap?getLocalControllerList"])
            #expect(reply.status == 200, "\(reply)")
            #expect(reply.contentType.hasPrefix("application/json"))
            let controllers = try #require(try reply.object()["localControllers"] as? [[String: Any]])
            #expect(controllers.compactMap { $0["id"] as? String } == ["h1", "h2"])
            for controller in controllers {
                #expect(controller["status"] as? String == "ACTIVE", "\(controller)")
                #expect(controller["hostname"] as? String == controller["id"] as? String)
                #expect(controller["totalCapacity"] as? [Double] == Self.hostCapacity, "\(controller)")
                let address = try #require(controller["controlDataAddress"] as? [String: Any])
                #expect(address["port"] as? Int == front.port)
                let hypervisor = try #require(controller["hypervisorSettings"] as? [String: Any])
                #expect(hypervisor["driver"] as? String == "qemu" && hypervisor["transport"] as? String == "tcp")
                #expect((hypervisor["migration"] as? [String: Any])?["method"] as? String == "live")
                let wakeup = try #require(controller["wakeupSettings"] as? [String: Any])
                #expect(wakeup["driver"] as? String == "NONE" && wakeup["options"] as? String == "")
                #expect((controller["virtualMachineMetaData"] as? [String: Any])?.isEmpty == true)
                #expect((controller["assignedVirtualMachines"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func theCompleteHierarchyIsOneGroupManagerHoldingEveryHost() async throws {
        try await SnoozeFront.with(hosts: ["h1", "h2"]) { front in
            let reply = try await Curl.run(["http://localhost:\(front.port)/bootstrap?getCompleteHierarchy"])
            #expect(reply.status == 200, "\(reply)")
            let managers = try #require(try reply.object()["groupManagerDescriptions"] as? [[String: Any]])
            try #require(managers.count == 1)
            let manager = managers[0]
            #expect(manager["id"] as? String == SnoozeFront.managerID)
            #expect((manager["localControllers"] as? [String: Any]).map { Set($0.keys) } == ["h1", "h2"])
            let summaries = try #require(manager["summaryInformation"] as? [String: [String: Any]])
            let summary = try #require(summaries.values.first)
            #expect(summary["activeCapacity"] as? [Double] == Self.twoHostsCapacity, "\(summary)")
            #expect(summary["passiveCapacity"] as? [Double] == Self.nothing)
            #expect(summary["requestedCapacity"] as? [Double] == Self.nothing)
            #expect(summary["timeStamp"] as? Int64 != nil)
            #expect((summary["legacyIpAddresses"] as? [Any])?.isEmpty == true)
            // The group leader's repository information is the same hierarchy.
            let repository = try await Curl.run([
                "-X", "POST", "-d", "0", "\(front.base)/groupmanager?getGroupLeaderRepositoryInformation",
            ])
            #expect(repository.status == 200, "\(repository)")
            #expect((try repository.object()["groupManagerDescriptions"] as? [Any])?.count == 1)
            let managerRepository = try await Curl.run([
                "-X", "POST", "-d", "0", "\(front.base)/groupmanager?getGroupManagerRepositoryInformation",
            ])
            #expect(managerRepository.status == 200, "\(managerRepository)")
            #expect((try managerRepository.object()["localControllerDescriptions"] as? [Any])?.count == 2)
        }
    }

    // MARK: A VM's life, as libcloud's Snooze driver lives it

    @Test func aSubmissionRunsThenSuspendsResumesRebootsShutsDownAndIsDestroyed() async throws {
        try await SnoozeFront.with(hosts: ["h1", "h2"]) { front in
            // The seed's command: curl -H "Content-Type: application/json" -X POST -d "$template" …?startVirtualCluster
            let started = try await Curl.run([
                "-H", "Content-Type: application/json", "-X", "POST", "-d", SnoozeSeedRequests.startVirtualCluster,
                "\(front.base)/groupmanager?startVirtualCluster",
            ])
            #expect(started.status == 200, "\(started)")
            #expect(started.contentType.hasPrefix("text/plain"), "\(started)")
            let taskID = started.body.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!taskID.isEmpty && !taskID.contains("\""), "the task id is raw text: \(started.body)")

            let response = try await front.clusterResponse(taskID)
            #expect(response.keys.contains("errorCode") && response["errorCode"] is NSNull, "\(response)")
            let metas = try #require(response["virtualMachineMetaData"] as? [[String: Any]])
            try #require(metas.count == 1, "\(response)")
            let meta = metas[0]
            #expect(meta["status"] as? String == "RUNNING", "\(meta)")
            #expect(meta["errorCode"] as? String == "UNKNOWN")
            let requested: [Double] = [1, 200_000, 12_800, 12_800]
            #expect(meta["requestedCapacity"] as? [Double] == requested, "\(meta)")
            let ip = try #require(meta["ipAddress"] as? String)
            #expect(ip.hasPrefix("192.168.122.") && ip != "192.168.122.1", "\(ip)")
            #expect((meta["usedCapacity"] as? [String: Any])?.isEmpty == true)
            #expect((meta["xmlRepresentation"] as? String)?.contains("<name>debian1</name>") == true)
            let location = try #require(meta["virtualMachineLocation"] as? [String: Any])
            #expect(location["virtualMachineId"] as? String == "debian1")
            #expect(location["localControllerId"] as? String == "h1", "first fit: \(location)")
            #expect(location["groupManagerId"] as? String == SnoozeFront.managerID)
            for key in ["groupManagerControlDataAddress", "localControllerControlDataAddress"] {
                let address = try #require(location[key] as? [String: Any])
                #expect(address["address"] as? String == "127.0.0.1" && address["port"] as? Int == front.port)
            }
            #expect((meta["groupManagerControlDataAddress"] as? [String: Any])?["port"] as? Int == front.port)
            #expect(await front.fake.running("debian1") == ["h1"])
            // The address is the one Torpor's pool leased.
            #expect(try await front.store.lease(vmID: "0f476e56-67ea-11e1-858e-00216a972a36").map { "\($0.ip)" } == ip)

            let locationBody = String(
                data: try JSONSerialization.data(withJSONObject: location),
                encoding: .utf8
            ) ?? ""
            func act(_ call: String) async throws -> Curl.Reply {
                try await Curl.run(["-X", "POST", "-d", locationBody, "\(front.base)/groupmanager?\(call)"])
            }

            let suspended = try await act("suspendVirtualMachine")
            #expect(suspended.status == 200 && suspended.body == "true", "\(suspended)")
            #expect(suspended.contentType.hasPrefix("application/json"))
            #expect(try await front.metaData("debian1")["status"] as? String == "PAUSED")

            let resumed = try await act("resumeVirtualMachine")
            #expect(resumed.body == "true", "\(resumed)")
            #expect(try await front.metaData("debian1")["status"] as? String == "RUNNING")

            let rebooted = try await act("rebootVirtualMachine")
            #expect(rebooted.body == "true", "\(rebooted)")
            #expect(await front.fake.sent.contains { $0.command == "reboot" && $0.vm == "debian1" && $0.hostID == "h1" })
            #expect(try await front.metaData("debian1")["status"] as? String == "RUNNING")

            let shutDown = try await act("shutdownVirtualMachine")
            #expect(shutDown.body == "true", "\(shutDown)")
            #expect(try await front.metaData("debian1")["status"] as? String == "SHUTDOWN_PENDING")
            // The guest is off once its host's inventory says so.
            await front.deliverInventory(of: "h1")
            var status = ""
            let offline = await GroupLeaderTests.eventually {
                status = (try? await front.metaData("debian1")["status"] as? String) ?? ""
                return status == "OFFLINE"
            }
            #expect(offline, "\(status)")

            // Rebooting a VM that is off: false, with the reason in a header.
            let refused = try await act("rebootVirtualMachine")
            #expect(refused.status == 200 && refused.body == "false", "\(refused)")
            #expect(refused.headers.lowercased().contains("torpor-reason: cannot reboot a vm that is stopped"))

            let destroyed = try await act("destroyVirtualMachine")
            #expect(destroyed.body == "true", "\(destroyed)")
            #expect(await front.fake.running("debian1").isEmpty)
            let gone = try await Curl.run([
                "-X", "POST", "-d", locationBody, "\(front.base)/groupmanager?getVirtualMachineMetaData",
            ])
            #expect(gone.status == 404 && gone.body.contains("debian1"), "\(gone)")
            // Its address went back to the pool, and the submission's cluster went with its last VM.
            #expect(try await front.store.leases().isEmpty)
            #expect(await GroupLeaderTests.eventually { (try? await front.clusters().isEmpty) == true })
        }
    }

    @Test func networkCapacityDemandIsHonouredByPlacement() async throws {
        try await SnoozeFront.with(hosts: ["h1", "h2"]) { front in
            // 100,000 KiB/s each way: one such VM fits a 1 Gbit/s (122,070 KiB/s) host, two do not.
            func template(_ name: String) -> [String: Any] {
                [
                    "libVirtTemplate":
                        "<domain type='kvm'><name>\(name)</name><memory unit='MiB'>256</memory><vcpu>1</vcpu></domain>",
                    "networkCapacityDemand": ["rxBytes": 100_000.0, "txBytes": 100_000.0],
                ]
            }
            let body = try JSONSerialization.data(withJSONObject: ["virtualMachineTemplates": [template("a"), template("b")]])
            let started = try await Curl.run([
                "-X", "POST", "-d", String(decoding: body, as: UTF8.self), "\(front.base)/groupmanager?startVirtualCluster",
            ])
            #expect(started.status == 200, "\(started)")
            let response = try await front.clusterResponse(started.body)
            let metas = try #require(response["virtualMachineMetaData"] as? [[String: Any]])
            let hosts = metas.compactMap { ($0["virtualMachineLocation"] as? [String: Any])?["localControllerId"] as? String }
            #expect(Set(hosts) == ["h1", "h2"], "\(metas)")
            let requested: [Double] = [1, 262_144, 100_000, 100_000]
            #expect(metas.allSatisfy { $0["requestedCapacity"] as? [Double] == requested }, "\(metas)")
        }
    }

    @Test func migrateVirtualMachineStartsAMigrationToTheDestinationsLocalController() async throws {
        try await SnoozeFront.with(hosts: ["h1", "h2"]) { front in
            let started = try await Curl.run([
                "-X", "POST", "-d", SnoozeSeedRequests.startVirtualCluster, "\(front.base)/groupmanager?startVirtualCluster",
            ])
            let meta = try #require((try await front.clusterResponse(started.body))["virtualMachineMetaData"] as? [[String: Any]]).first
            let source = try #require(meta?["virtualMachineLocation"] as? [String: Any])
            #expect(source["localControllerId"] as? String == "h1")
            _ = await front.fake.snapshot("h1")
            var destination = source
            destination["localControllerId"] = "h2"
            destination["virtualMachineId"] = "another-vm-on-h2"
            let request: [String: Any] = [
                "sourceVirtualMachineLocation": source,
                "destinationVirtualMachineLocation": destination,
                "destinationHypervisorSettings": [:] as [String: Any],
                "migrated": false,
            ]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
            let migrated = try await Curl.run(["-X", "POST", "-d", body, "\(front.base)/groupmanager?migrateVirtualMachine"])
            #expect(migrated.status == 200 && migrated.body == "true", "\(migrated)")
            #expect(await GroupLeaderTests.eventually { await front.fake.migrating.contains("debian1") })
            await front.fake.endMigration("debian1", .complete)
            var location: [String: Any] = [:]
            let moved = await GroupLeaderTests.eventually {
                location = ((try? await front.metaData("debian1"))?["virtualMachineLocation"] as? [String: Any]) ?? [:]
                return location["localControllerId"] as? String == "h2"
            }
            #expect(moved, "\(location)")

            // A migration to a host that does not exist: refused, naming it.
            destination["localControllerId"] = "h9"
            let refusedRequest: [String: Any] = [
                "sourceVirtualMachineLocation": source, "destinationVirtualMachineLocation": destination,
            ]
            let refused = try await Curl.run([
                "-X", "POST", "-d", String(decoding: try JSONSerialization.data(withJSONObject: refusedRequest), as: UTF8.self),
                "\(front.base)/groupmanager?migrateVirtualMachine",
            ])
            #expect(refused.status == 404 && refused.body.contains("h9"), "\(refused)")
        }
    }

    // MARK: Old clients

    @Test func aRequestTargetWithoutItsLeadingSlashIsServed() async throws {
        try await SnoozeFront.with { front in
            let body = SnoozeSeedRequests.startVirtualCluster
            // No Content-Type at all, and no leading slash: as Snooze's old client sent it.
            let request =
                "POST groupmanager?startVirtualCluster HTTP/1.1\r\nHost: 127.0.0.1:\(front.port)\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            let responses = try await RawHTTP.exchange(port: front.port, request)
            let response = try #require(responses.first)
            #expect(response.status == 200, "\(response)")
            #expect(response.headers["content-type"]?.hasPrefix("text/plain") == true, "\(response)")
            let taskID = response.body.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(taskID.hasPrefix("t-"), "\(response)")

            // Two requests on one connection, both without `/`, the task id raw, quoted, under a wrong Content-Type.
            let pipelined =
                "POST groupmanager?getVirtualClusterResponse HTTP/1.1\r\nHost: x\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(taskID.utf8.count)\r\n\r\n\(taskID)"
                + "POST groupmanager?getVirtualClusterResponse HTTP/1.1\r\nHost: x\r\n"
                + "Content-Length: \(taskID.utf8.count + 2)\r\nConnection: close\r\n\r\n\"\(taskID)\""
            let answers = try await RawHTTP.exchange(port: front.port, pipelined, responses: 2)
            try #require(answers.count == 2, "\(answers)")
            for answer in answers {
                #expect(answer.status == 200, "\(answer)")
                #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true, "\(answer)")
            }
            // And the connection served both without being reset: a GET without `/` too.
            let get = try await RawHTTP.exchange(
                port: front.port,
                "GET bootstrap?getGroupLeaderDescription HTTP/1.1\r\nHost: example.org:5000\r\nConnection: close\r\n\r\n"
            )
            #expect(get.first?.status == 200, "\(get)")
            // The Host header is the address the client reached: the one the reply gives back.
            #expect(get.first?.body.contains(#""address":"example.org","port":5000"#) == true, "\(get)")
        }
    }

    // MARK: Bad input

    @Test func badRequestsAre4xxNamingTheProblemAndChangeNothing() async throws {
        // The manager checks that a template's disks exist (hosts share storage with it).
        try await SnoozeFront.with(configure: { $0.checkTemplateDisks = true }) { front in
            func post(_ call: String, _ body: String) async throws -> Curl.Reply {
                try await Curl.run(["-X", "POST", "-d", body, "\(front.base)/groupmanager?\(call)"])
            }
            let cases: [(call: String, body: String, status: Int, names: String)] = [
                ("startVirtualCluster", #"{"virtualMachineTemplates": [ {"libVirtTemplate": "#, 400, "malformed JSON"),
                ("startVirtualCluster", #"{"templates": []}"#, 400, "missing field 'virtualMachineTemplates'"),
                ("startVirtualCluster", #"{"virtualMachineTemplates": []}"#, 400, "virtualMachineTemplates is empty"),
                (
                    "startVirtualCluster", #"{"virtualMachineTemplates": [{"libVirtTemplate": "<domain type='kvm'><name>x"}]}"#,
                    400, "template 1 (libVirtTemplate)"
                ),
                (
                    "startVirtualCluster",
                    #"{"virtualMachineTemplates": [{"libVirtTemplate": "<domain type='kvm'><name>x</name><memory>1024</memory><vcpu>1</vcpu></domain>", "networkCapacityDemand": {"rxBytes": -1}}]}"#,
                    400, "networkCapacityDemand.rxBytes"
                ),
                ("suspendVirtualMachine", #"{"virtualMachineId": "nope", "localControllerId": "h1"}"#, 404, "'nope'"),
                ("destroyVirtualMachine", #"{"localControllerId": "h1"}"#, 400, "missing field 'virtualMachineId'"),
                ("getVirtualMachineMetaData", "not json", 400, "malformed JSON"),
                ("getVirtualClusterResponse", "t-00000000", 404, "no task with ID t-00000000"),
                ("getVirtualClusterResponse", "", 400, "the body is empty"),
                ("getVirtualClusterResponse", "{not json", 400, "malformed JSON"),
                (
                    "migrateVirtualMachine", #"{"sourceVirtualMachineLocation": {"virtualMachineId": "nope"}, "destinationVirtualMachineLocation": {"localControllerId": "h2"}}"#,
                    404, "nope"
                ),
                ("noSuchCall", "{}", 404, "no Snooze call named 'noSuchCall'"),
            ]
            for example in cases {
                let reply = try await post(example.call, example.body)
                #expect(reply.status == example.status, "\(example.call) \(example.body): \(reply)")
                #expect(reply.contentType.hasPrefix("text/plain"), "\(example.call): \(reply)")
                #expect(reply.body.contains(example.names), "\(example.call) \(example.body): \(reply)")
                #expect(try await front.clusters().isEmpty, "\(example.call) changed the store")
            }
            // A template naming a disk that does not exist (the manager checks disks): refused after the leader
            // looked, and its cluster is gone again.
            let missingDisk = try await Curl.run([
                "-X", "POST", "-d", SnoozeSeedRequests.startVirtualCluster(disk: "/nonexistent/debian1.qcow2"),
                "\(front.base)/groupmanager?startVirtualCluster",
            ])
            #expect(missingDisk.status == 400 && missingDisk.body.contains("/nonexistent/debian1.qcow2"), "\(missingDisk)")
            #expect(await GroupLeaderTests.eventually { (try? await front.clusters().isEmpty) == true })
            #expect(try await front.store.vms().isEmpty)
            // No call named at all, an unknown path: 4xx, never 500.
            #expect(try await Curl.run(["\(front.base)/bootstrap"]).status == 400)
            let nowhere = try await Curl.run(["\(front.base)/nowhere"])
            #expect(nowhere.status == 404 && nowhere.body.contains("GET /nowhere"), "\(nowhere)")
            // A request line the parser cannot read: 400, and the connection is answered, not dropped.
            let garbage = try await RawHTTP.exchange(port: front.port, "NOT HTTP AT ALL\r\n\r\n")
            #expect(garbage.first?.status == 400, "\(garbage)")
        }
    }

    // MARK: Access log

    @Test func everyRequestIsLoggedWithMethodPathStatusDurationAndPeer() async throws {
        try await SnoozeFront.with { front in
            _ = try await Curl.run(["\(front.base)/bootstrap?getGroupLeaderDescription"])
            _ = try await Curl.run(["-X", "POST", "-d", "x", "\(front.base)/groupmanager?getVirtualMachineMetaData"])
            let lines = front.logs.all.filter { $0.message == "http request" }
            try #require(lines.count == 2, "\(lines)")
            #expect(lines[0].metadata["torpor.method"] == "GET")
            #expect(lines[0].metadata["torpor.path"] == "/bootstrap?getGroupLeaderDescription")
            #expect(lines[0].metadata["torpor.status"] == "200")
            #expect(lines[1].metadata["torpor.method"] == "POST")
            #expect(lines[1].metadata["torpor.status"] == "400")
            for line in lines {
                #expect(line.metadata["torpor.peer"]?.description.hasPrefix("127.0.0.1:") == true, "\(line)")
                #expect(line.metadata["torpor.duration"]?.description.hasSuffix("ms") == true, "\(line)")
            }
        }
    }
}

/// `TORPOR_REQUIRE_E2E=1` (CI): a missing prerequisite fails instead of skipping.
let requiresEndToEnd = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1"
