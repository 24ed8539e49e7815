import Foundation
import Testing
import Transport
import Trust
import Wire

@Suite("WireAuthorization")
struct WireAuthorizationTests {
    static func identity(_ role: CertificateRole, _ name: String = "someone") -> CertificateIdentity {
        CertificateIdentity(
            role: role,
            name: name,
            serial: "01",
            notValidBefore: .distantPast,
            notValidAfter: .distantFuture
        )
    }

    /// Every message type (and every ClusterRequest kind) with the roles that may send it, written out here.
    static let table: [(WireMessage, Set<CertificateRole>)] = [
        (.heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0)), [.agent, .manager, .operator, .viewer]),
        (.error(ErrorMessage(code: .busy, message: "")), [.agent, .manager, .operator, .viewer]),
        (.hello(makeHello()), []),
        (.welcome(Welcome(version: 1, role: .manager, softwareVersion: "", nodeName: "m")), []),
        (.inventory(Inventory(hostID: "someone", vms: [])), [.agent]),
        (.powerNotice(.goingDown(.suspendToRam, reason: "test")), [.agent]),
        (.hypervisorStatus(.unreachable("libvirtd down")), [.agent]),
        // Only for its own host (see agentOwnHost); "someone" is the name of every identity here.
        (.hostAssignmentRequest(HostAssignmentRequest(hostID: "someone")), [.agent]),
        (
            .hostAssignment(
                HostAssignment(hostID: "someone", target: .groupManager(id: "gm-2", address: "10.0.0.21:7710"))
            ), []
        ),
        (.vmCommand(.destroy(name: "vm")), [.manager, .operator]),
        (.powerCommand(PowerCommand(action: .shutdown, force: true)), [.manager, .operator]),
        (.migrationCancel(MigrationCancel(vmName: "vm")), [.manager, .operator]),
        (.statusRequest(StatusRequest()), [.manager, .operator, .viewer]),
        (.samplesRequest(SamplesRequest(vmName: "vm")), [.manager, .operator, .viewer]),
        (.managerStatusRequest(ManagerStatusRequest()), [.manager, .operator, .viewer]),
        // Agents and clients ask who leads before they know where to go.
        (.leaderQuery(LeaderQuery()), [.agent, .manager, .operator, .viewer]),
        (.leaderReply(LeaderReply(leader: .elected(managerID: "m2", address: "10.0.0.12:7700"))), []),
        (.energyRequest(EnergyRequest()), [.manager, .operator, .viewer]),
        (.hostPowerRequest(.wake("h")), [.manager, .operator]),
        (.hostPowerRequest(.sleep("h")), [.manager, .operator]),
        (.clusterRequest(.define(cluster: "c")), [.manager, .operator]),
        (.clusterRequest(.undefine(cluster: "c")), [.manager, .operator]),
        (.clusterRequest(.add(cluster: "c", vms: [])), [.manager, .operator]),
        (.clusterRequest(.remove(cluster: "c", vm: "v")), [.manager, .operator]),
        (.clusterRequest(.act(.destroy, cluster: "c", vm: "v")), [.manager, .operator]),
        (.clusterRequest(.act(.start, cluster: "c", vm: "v")), [.manager, .operator]),
        (.clusterRequest(.migrate(vm: "v", to: "h", method: .live)), [.manager, .operator]),
        (.clusterRequest(.migrateCancel(vm: "v")), [.manager, .operator]),
        (.clusterRequest(.consolidate(dryRun: false)), [.manager, .operator]),
        (.clusterRequest(.consolidate(dryRun: true)), [.manager, .operator, .viewer]),
        (.clusterRequest(.info(cluster: "c")), [.manager, .operator, .viewer]),
        (.clusterRequest(.list), [.manager, .operator, .viewer]),
        (.clusterRequest(.vmInfo(vm: "v")), [.manager, .operator, .viewer]),
        (.clusterRequest(.task(id: "t", waitMilliseconds: 0)), [.manager, .operator, .viewer]),
        (.clusterRequest(.flavorList), [.manager, .operator, .viewer]),
        (.clusterRequest(.imageList), [.manager, .operator, .viewer]),
        (.clusterRequest(.flavorDelete(name: "f")), [.manager, .operator]),
        (.clusterRequest(.imageAdd(name: "i", path: "/srv/images/i.qcow2")), [.manager, .operator]),
        (.clusterRequest(.imageRemove(name: "i")), [.manager, .operator]),
        (
            .taskStatus(
                TaskStatus(
                    id: "t",
                    kind: "k",
                    cluster: "c",
                    state: .pending,
                    message: "",
                    createdAtUnixMilliseconds: 0,
                    updatedAtUnixMilliseconds: 0,
                    outcomes: []
                )
            ), []
        ),
        (.eventSubscription(EventSubscription()), [.manager, .operator, .viewer]),
        (
            .eventNotice(
                EventNotice(
                    sequence: 1,
                    timeUnixMilliseconds: 0,
                    exchange: .system,
                    routingKey: "groupleader",
                    eventType: "GL_JOIN",
                    message: "{}"
                )
            ), [.manager]
        ),
        // Between a group manager and the group leader: manager certificates only.
        (.groupManagerReport(GroupManagerReport(agentAddress: "10.0.0.21:7710", maxHosts: 0, hosts: [])), [.manager]),
        (.groupManagerEvent(GroupManagerEvent(hostID: "h", event: .resumed)), [.manager]),
        (
            .groupManagerEvent(GroupManagerEvent(hostID: "h", event: .inventory(Inventory(hostID: "h", vms: [])))),
            [.manager]
        ),
        (.hostOrder(HostOrder(hostID: "h", order: .setState(.sleeping))), [.manager]),
        // An order embedding an operator's command is still the leader's alone.
        (.hostOrder(HostOrder(hostID: "h", order: .vmCommand(.destroy(name: "vm")))), [.manager]),
        (.hostOrder(HostOrder(hostID: "h", order: .powerCommand(PowerCommand(action: .shutdown)))), [.manager]),
    ]

    @Test("each role may send exactly the messages of its row", arguments: CertificateRole.allCases)
    func table(role: CertificateRole) {
        for (message, allowed) in Self.table {
            let refusal = WireAuthorization.refusal(of: message, from: Self.identity(role))
            #expect((refusal == nil) == allowed.contains(role), "\(role) \(message.type): \(refusal ?? "allowed")")
            if let refusal { #expect(refusal.contains("a \(role) certificate may not send")) }
        }
    }

    @Test("the untabled types' permissions")
    func untabledPermissions() {
        // Reports from an agent; replies travel only as responses.
        #expect(WireAuthorization.roles(for: .hostReport) == [.agent])
        #expect(WireAuthorization.roles(for: .none).isEmpty)
        #expect(WireAuthorization.roles(for: .groupManager) == [.manager])
    }

    @Test("allows(_:_:) answers as roles(for:) does, for every role and permission")
    func allowsAgreesWithRoles() {
        for permission in WireAuthorization.Permission.allCases {
            for role in CertificateRole.allCases {
                #expect(
                    WireAuthorization.allows(role, permission)
                        == WireAuthorization.roles(for: permission).contains(role),
                    "\(role) \(permission)"
                )
            }
        }
    }

    @Test("the table covers every message type")
    func coversEveryType() {
        #expect(Set(Self.table.map(\.0.type)).isSuperset(of: Set(WireMessageType.allCases).subtracting(Self.untabled)))
    }

    /// Types whose payloads are too large to spell out above; each is checked by permission instead.
    static let untabled: Set<WireMessageType> = [
        .monitoringReport, .commandResult, .migrationProgress, .statusReply, .samplesReply, .managerStatusReply,
        .clusterReply, .energyReply, .consolidationReply, .catalogReply,
    ]

    @Test("an agent certificate speaks only as its own host")
    func agentOwnHost() {
        let agent = Self.identity(.agent, "host-1")
        #expect(WireAuthorization.refusal(of: .inventory(Inventory(hostID: "host-1", vms: [])), from: agent) == nil)
        #expect(
            WireAuthorization.refusal(of: .inventory(Inventory(hostID: "host-2", vms: [])), from: agent)
                == "the agent certificate for host 'host-1' may not send host 'host-2''s Inventory"
        )
        #expect(
            WireAuthorization.refusal(of: .hostAssignmentRequest(HostAssignmentRequest(hostID: "host-1")), from: agent)
                == nil
        )
        #expect(
            WireAuthorization.refusal(of: .hostAssignmentRequest(HostAssignmentRequest(hostID: "host-2")), from: agent)
                == "the agent certificate for host 'host-1' may not ask where host 'host-2' joins"
        )
        #expect(WireAuthorization.refusal(of: agentHello("host-1"), from: agent) == nil)
        #expect(
            WireAuthorization.refusal(of: agentHello("host-2"), from: agent)
                == "the agent certificate for host 'host-1' may not connect as host 'host-2'"
        )
    }

    @Test("Hello and Welcome roles must match the certificate's", arguments: CertificateRole.allCases)
    func greetings(role: CertificateRole) {
        let identity = Self.identity(role, "host-1")
        let control = WireAuthorization.refusal(of: makeHello(), from: identity)
        #expect((control == nil) == (role == .operator || role == .viewer))
        let manager = Hello(role: .manager, softwareVersion: "", nodeName: "m")
        #expect((WireAuthorization.refusal(of: manager, from: identity) == nil) == (role == .manager))
        #expect((WireAuthorization.refusal(of: agentHello("host-1"), from: identity) == nil) == (role == .agent))
        for welcomeRole in PeerRole.allCases {
            let welcome = Welcome(version: 1, role: welcomeRole, softwareVersion: "", nodeName: "n")
            let expected = (welcomeRole == .agent && role == .agent) || (welcomeRole == .manager && role == .manager)
            #expect((WireAuthorization.refusal(of: welcome, from: identity) == nil) == expected)
        }
    }
}
