import Foundation
import Logging
import Testing
import Wire

@testable import Manager

/// A cluster for the web view's tests: three hosts (one asleep, one waking, one running two VMs), a VM on no host and
/// one on a host the manager does not list; replies built as `torpor hosts` and `torpor energy` would carry them.
enum WebViewFixture {
    static let managerID = "manager-1"

    static func host(_ id: String, _ state: ManagerStatusReply.HostState, watts: Double?) -> ManagerStatusReply.Host {
        ManagerStatusReply.Host(
            hostID: id,
            hostname: "\(id).example",
            state: state,
            connected: state == .active,
            millisecondsSinceHeartbeat: 100,
            millisecondsSinceReport: nil,
            ringFill: 1,
            ringCapacity: 60,
            vmCount: 0,
            capacity: HostCapacity(cores: 8, memoryBytes: 64 << 30, nicRxBytesPerSecond: 0, nicTxBytesPerSecond: 0),
            usage: nil,
            millisecondsInState: 90_000,
            watts: watts
        )
    }

    static let status = ManagerStatusReply(
        managerID: managerID,
        softwareVersion: "test",
        uptimeSeconds: 60,
        heartbeatTimeoutMilliseconds: 5000,
        // Out of order: the view sorts hosts by id.
        hosts: [host("h2", .sleeping, watts: 8), host("h1", .active, watts: 150), host("h3", .waking, watts: nil)]
    )

    static let energy = EnergyReply(
        millisecondsMeasured: 60_000,
        hosts: [
            .init(hostID: "h1", state: .active, millisecondsInState: 1, watts: 150, usedKilowattHours: 2,
                alwaysOnKilowattHours: 2),
            .init(hostID: "h2", state: .sleeping, millisecondsInState: 1, watts: 8, usedKilowattHours: 0.5,
                alwaysOnKilowattHours: 2),
            .init(hostID: "h3", state: .waking, millisecondsInState: 1, usedKilowattHours: 0, alwaysOnKilowattHours: 0),
        ]
    )

    static func vm(_ name: String, host: String?, state: StoredVM.State, ip: String? = nil) -> GroupLeaderView.VM {
        GroupLeaderView.VM(
            record: StoredVM(id: "id-\(name)", name: name, vcName: "vc-a", templateXML: "", hostID: host, state: state),
            lease: ip.flatMap { try? IPv4Address(parsing: $0) }.map {
                Lease(vmID: "id-\(name)", ip: $0, mac: "52:54:00:00:00:01")
            }
        )
    }

    static let vms = [
        vm("web-2", host: "h1", state: .running, ip: "10.42.0.3"),
        vm("web-1", host: "h1", state: .running, ip: "10.42.0.2"),
        vm("queued", host: nil, state: .pending),
        vm("lost", host: "h9", state: .missing),
    ]

    static let date = Date(timeIntervalSince1970: 1_700_000_000)

    static var source: WebViewSource {
        WebViewSource(status: { status }, energy: { energy }, vms: { vms }, now: { date })
    }
}
