import Foundation
import Wire

@testable import Manager

/// An in-memory group manager standing in for other processes' agents in the group leader's unit tests: it keeps
/// hosts and the domains each one runs, records every command, and answers as a libvirt host would (a start of a
/// domain already running fails). Commands can be held until the test releases them, so a test can act while a
/// start is in flight. Real agents are exercised end to end in Tests/AgentTests.
actor FakeGroupManager: GroupManagerEndpoint {
    struct Sent: Equatable, Sendable {
        var hostID: String
        var command: String
        var vm: String
    }

    private(set) var managed: [String: ManagedHost] = [:]
    /// The domains each host runs, by name, with their UUIDs.
    private(set) var domains: [String: [String: (uuid: String, state: VMState)]] = [:]
    private(set) var sent: [Sent] = []
    private(set) var powerCommands: [(hostID: String, action: PowerCommand.Action)] = []
    private(set) var registryStates: [(hostID: String, state: HostRecord.State)] = []
    private var latestInventory: [String: Inventory] = [:]
    /// Starts wait here while `holdingStarts`; `releaseStarts()` lets them through.
    private var holdingStarts = false
    private var held: [CheckedContinuation<Void, Never>] = []
    /// What the next PowerCommands answer; accepted by default.
    var powerAnswer = CommandResult.ok()
    /// What a shutdown does to the guest: off at once, or ignored (the guest keeps running).
    var guestsIgnoreShutdown = false

    init(hosts: [String], cores: UInt16 = 8) {
        for id in hosts {
            managed[id] = ManagedHost(
                hostID: id,
                capacity: HostCapacity(
                    cores: cores,
                    memoryBytes: 64 << 30,
                    nicRxBytesPerSecond: 125_000_000,
                    nicTxBytesPerSecond: 125_000_000
                ),
                state: .active,
                connected: true,
                hasInventory: true,
                capabilities: [.vmLifecycle, .suspendToRam]
            )
            domains[id] = [:]
            latestInventory[id] = Inventory(hostID: id, vms: [])
        }
    }

    // MARK: GroupManagerEndpoint

    func hosts() async -> [ManagedHost] { managed.values.sorted { $0.hostID < $1.hostID } }

    func inventory(of hostID: String) async -> Inventory? { latestInventory[hostID] }

    func send(_ command: VMCommand, to hostID: String) async -> CommandResult {
        guard managed[hostID]?.connected == true else {
            return CommandResult(code: .notDelivered, message: "\(hostID) is not connected")
        }
        switch command {
        case .start(let xml):
            let name = Self.element("name", in: xml)
            let uuid = Self.element("uuid", in: xml)
            sent.append(Sent(hostID: hostID, command: "start", vm: name))
            if holdingStarts { await withCheckedContinuation { held.append($0) } }
            if domains[hostID]?[name]?.state == .running {
                return CommandResult(code: .hypervisorError, message: "Domain '\(name)' is already running")
            }
            domains[hostID, default: [:]][name] = (uuid, .running)
            return .ok("started \(name)")
        case .shutdown(let name):
            sent.append(Sent(hostID: hostID, command: "shutdown", vm: name))
            guard domains[hostID]?[name] != nil else { return CommandResult(code: .notFound, message: name) }
            if !guestsIgnoreShutdown { domains[hostID]?[name]?.state = .shutOff }
            return .ok("shutdown requested")
        case .destroy(let name):
            sent.append(Sent(hostID: hostID, command: "destroy", vm: name))
            domains[hostID]?[name]?.state = .shutOff
            return .ok()
        case .undefine(let name):
            sent.append(Sent(hostID: hostID, command: "undefine", vm: name))
            domains[hostID]?[name] = nil
            return .ok()
        case .suspend(let name):
            sent.append(Sent(hostID: hostID, command: "suspend", vm: name))
            domains[hostID]?[name]?.state = .paused
            return .ok()
        case .resume(let name):
            sent.append(Sent(hostID: hostID, command: "resume", vm: name))
            domains[hostID]?[name]?.state = .running
            return .ok()
        default:
            return CommandResult(code: .unsupported, message: "not in the fake")
        }
    }

    func send(_ command: PowerCommand, to hostID: String) async -> CommandResult {
        powerCommands.append((hostID, command.action))
        return powerAnswer
    }

    func setState(_ state: HostRecord.State, of hostID: String) async {
        registryStates.append((hostID, state))
        managed[hostID]?.state = state
    }

    // MARK: Test controls

    func holdStarts() { holdingStarts = true }

    func releaseStarts() {
        holdingStarts = false
        for continuation in held { continuation.resume() }
        held.removeAll()
    }

    var heldStarts: Int { held.count }

    func setPowerAnswer(_ answer: CommandResult) { powerAnswer = answer }

    func setGuestsIgnoreShutdown(_ ignore: Bool) { guestsIgnoreShutdown = ignore }

    /// The host stops answering: not connected, FAILED in the registry. Its domains keep running.
    func fail(_ hostID: String) {
        managed[hostID]?.connected = false
        managed[hostID]?.state = .failed
    }

    /// The guest powers itself off (what a shutdown it had ignored does later).
    func powerOff(_ name: String, on hostID: String) {
        domains[hostID]?[name]?.state = .shutOff
    }

    /// Puts a domain on a host behind the leader's back (another copy, a stray guest).
    func run(_ name: String, uuid: String, on hostID: String) {
        domains[hostID, default: [:]][name] = (uuid, .running)
    }

    /// The host's inventory as the agent would send it now; also kept as its latest.
    func snapshot(_ hostID: String) -> Inventory {
        let entries = (domains[hostID] ?? [:]).sorted { $0.key < $1.key }.enumerated().map { index, domain in
            Inventory.Entry(
                slot: UInt16(index),
                uuid: WireUUID(domain.value.uuid) ?? .zero,
                name: domain.key,
                state: domain.value.state,
                virtualCPUs: 1,
                memoryKiB: 1024
            )
        }
        let inventory = Inventory(hostID: hostID, vms: entries)
        latestInventory[hostID] = inventory
        return inventory
    }

    /// Records `inventory` as the host's latest (e.g. one sampled earlier, arriving late).
    func deliver(_ inventory: Inventory) {
        latestInventory[inventory.hostID] = inventory
    }

    func starts(of vm: String) -> [String] { sent.filter { $0.command == "start" && $0.vm == vm }.map(\.hostID) }

    func running(_ name: String) -> [String] {
        domains.filter { $0.value[name]?.state == .running }.map(\.key).sorted()
    }

    static func element(_ name: String, in xml: String) -> String {
        guard let open = xml.range(of: "<\(name)>"),
            let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return "" }
        return String(xml[open.upperBound..<close.lowerBound])
    }
}
