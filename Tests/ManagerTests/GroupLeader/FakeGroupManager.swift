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
    private var goneAfterNextListing: Set<String> = []
    private var held: [CheckedContinuation<Void, Never>] = []
    /// What the next PowerCommands answer; accepted by default.
    var powerAnswer = CommandResult.ok()
    /// Hosts whose agent cannot reach its libvirtd: every VM command is answered `hypervisorUnavailable`.
    private var withoutHypervisor: Set<String> = []

    func loseHypervisor(_ hostID: String) { withoutHypervisor.insert(hostID) }
    /// The host's agent said its libvirtd does not answer (nil: it answers again), as the registry would record.
    func setHypervisorProblem(_ problem: String?, of hostID: String) { managed[hostID]?.hypervisorProblem = problem }
    /// What a shutdown does to the guest: off at once, or ignored (the guest keeps running).
    var guestsIgnoreShutdown = false
    /// How a migration ends when the test lets it: moved, stopped by the watchdog, or failed by libvirt.
    enum MigrationEnd: Sendable { case complete, watchdogAbort, fail }
    /// Migrations wait here, by VM name, until the test ends them (`endMigration`), a cancel arrives, or the
    /// command is cancelled (the leader stopped waiting for it).
    private var heldMigrations: [String: CheckedContinuation<MigrationEnd?, Never>] = [:]
    /// Cancels received, by source host and VM.
    private(set) var cancels: [Sent] = []
    /// Migrate commands wait here, before the source has the migration (a cancel finds none), while
    /// `holdingMigrationCommands`.
    private var holdingMigrationCommands = false
    private var heldMigrationCommands: [CheckedContinuation<Void, Never>] = []
    /// Migrate commands answered (or abandoned by their caller), in order.
    private(set) var migrationsEnded: [String] = []

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
                capabilities: [.vmLifecycle, .suspendToRam, .liveMigration]
            )
            domains[id] = [:]
            latestInventory[id] = Inventory(hostID: id, vms: [])
        }
    }

    // MARK: GroupManagerEndpoint

    func hosts() async -> [ManagedHost] {
        let listed = managed.values.sorted { $0.hostID < $1.hostID }
        for hostID in goneAfterNextListing { disconnect(hostID) }
        goneAfterNextListing = []
        return listed
    }

    func inventory(of hostID: String) async -> Inventory? { latestInventory[hostID] }

    func send(_ command: VMCommand, to hostID: String) async -> CommandResult {
        guard managed[hostID]?.connected == true else {
            return CommandResult(code: .notDelivered, message: "\(hostID) is not connected")
        }
        if withoutHypervisor.contains(hostID) {
            sent.append(Sent(hostID: hostID, command: "unavailable", vm: ""))
            return CommandResult(
                code: .hypervisorUnavailable,
                message: "virDomainCreateXML failed: the connection to libvirt was lost (libvirtd stopped or restarted)"
            )
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
        case .reboot(let name):
            sent.append(Sent(hostID: hostID, command: "reboot", vm: name))
            guard domains[hostID]?[name]?.state == .running else {
                return CommandResult(code: .invalidArgument, message: "domain '\(name)' is not running")
            }
            return .ok("reboot requested for \(name)")
        case .migrate(let migration):
            return await migrate(migration, from: hostID)
        }
    }

    /// A peer-to-peer migration to the host named by `fake://HOST`: held until the test ends it; completed, the
    /// domain runs on the destination only.
    private func migrate(_ migration: VMCommand.Migration, from source: String) async -> CommandResult {
        let name = migration.name
        sent.append(Sent(hostID: source, command: "migrate", vm: name))
        if holdingMigrationCommands { await withCheckedContinuation { heldMigrationCommands.append($0) } }
        guard let domain = domains[source]?[name], domain.state == .running else {
            return CommandResult(code: .invalidArgument, message: "domain '\(name)' is not running")
        }
        guard migration.destinationURI.hasPrefix("fake://") else {
            return CommandResult(code: .hypervisorError, message: "cannot reach \(migration.destinationURI)")
        }
        let destination = String(migration.destinationURI.dropFirst("fake://".count))
        // The incoming domain is listed paused on the destination while the migration runs.
        domains[destination, default: [:]][name] = (domain.uuid, .paused)
        let end: MigrationEnd? = await withTaskCancellationHandler {
            await withCheckedContinuation { heldMigrations[name] = $0 }
        } onCancel: {
            Task { await self.resumeMigration(name, with: nil) }
        }
        defer { migrationsEnded.append(name) }
        switch end {
        case .complete?:
            domains[source]?[name] = nil
            domains[destination]?[name] = (domain.uuid, .running)
            // Both agents report the move, as real ones do within an interval: the leader rechecks these hosts'
            // latest inventories once the migration settles, and a set-up snapshot still listing the VM on its
            // source would move it back (a loaded run reached that recheck before the test's last checks).
            for host in [source, destination] where latestInventory[host] != nil { _ = snapshot(host) }
            return .ok("migrated \(name)")
        case .watchdogAbort?:
            domains[destination]?[name] = nil
            return CommandResult(code: .timedOut, message: "the watchdog aborted the migration of \(name)")
        case .fail?:
            domains[destination]?[name] = nil
            return CommandResult(code: .hypervisorError, message: "libvirt failed the migration of \(name)")
        case nil:
            // Cancelled: by MigrationCancel (answered there), or the caller stopped waiting.
            domains[destination]?[name] = nil
            return CommandResult(code: .commandFailed, message: "migration of \(name) cancelled")
        }
    }

    private func resumeMigration(_ name: String, with end: MigrationEnd?) {
        heldMigrations.removeValue(forKey: name)?.resume(returning: end)
    }

    func send(_ cancel: MigrationCancel, to hostID: String) async -> CommandResult {
        cancels.append(Sent(hostID: hostID, command: "migrate-cancel", vm: cancel.vmName))
        guard managed[hostID]?.connected == true else {
            return CommandResult(code: .notDelivered, message: "\(hostID) is not connected")
        }
        guard heldMigrations[cancel.vmName] != nil else {
            return CommandResult(code: .notFound, message: "no migration of \(cancel.vmName) runs on \(hostID)")
        }
        resumeMigration(cancel.vmName, with: nil)
        return .ok("cancelling the migration of \(cancel.vmName)")
    }

    func send(_ command: PowerCommand, to hostID: String) async -> CommandResult {
        powerCommands.append((hostID, command.action))
        return powerAnswer
    }

    func setState(_ state: HostRecord.State, of hostID: String) async {
        registryStates.append((hostID, state))
        managed[hostID]?.state = state
    }

    func restoreAsleep(_ description: AgentDescription, since: ContinuousClock.Instant) async -> Bool {
        guard managed[description.hostID] == nil else { return false }
        managed[description.hostID] = ManagedHost(
            hostID: description.hostID,
            capacity: description.capacity,
            state: .sleeping,
            connected: false,
            hasInventory: false,
            capabilities: description.capabilities
        )
        return true
    }

    func restoreFailed(
        _ description: AgentDescription,
        lastSeen: ContinuousClock.Instant,
        failedSince: ContinuousClock.Instant
    ) async -> Bool {
        guard managed[description.hostID] == nil else { return false }
        managed[description.hostID] = ManagedHost(
            hostID: description.hostID,
            capacity: description.capacity,
            state: .failed,
            connected: false,
            hasInventory: false,
            capabilities: description.capabilities
        )
        return true
    }

    func forget(_ hostID: String) async -> Bool {
        guard managed[hostID]?.connected != true else { return false }
        managed[hostID] = nil
        domains[hostID] = nil
        latestInventory[hostID] = nil
        return true
    }

    // MARK: Test controls

    /// Migrations under way, by VM name.
    var migrating: Set<String> { Set(heldMigrations.keys) }

    /// Ends a held migration the way `end` says.
    func endMigration(_ name: String, _ end: MigrationEnd) { resumeMigration(name, with: end) }

    /// The host's agent comes back (after `fail` or `disconnect`): connected and ACTIVE.
    func reconnect(_ hostID: String) {
        managed[hostID]?.connected = true
        managed[hostID]?.state = .active
    }

    /// The host's agent connection closes (a restart); the host stays ACTIVE in the registry for now.
    func disconnect(_ hostID: String) {
        managed[hostID]?.connected = false
        latestInventory[hostID] = nil
    }

    /// The host's agent goes away just after the next listing of hosts: a task plans on it, then cannot reach it.
    func disconnectAfterNextListing(_ hostID: String) { goneAfterNextListing.insert(hostID) }

    func holdStarts() { holdingStarts = true }

    func releaseStarts() {
        holdingStarts = false
        for continuation in held { continuation.resume() }
        held.removeAll()
    }

    var heldStarts: Int { held.count }

    func holdMigrationCommands() { holdingMigrationCommands = true }

    func releaseMigrationCommands() {
        holdingMigrationCommands = false
        for continuation in heldMigrationCommands { continuation.resume() }
        heldMigrationCommands.removeAll()
    }

    var heldMigrationCommandCount: Int { heldMigrationCommands.count }

    func setPowerAnswer(_ answer: CommandResult) { powerAnswer = answer }

    /// Takes away a capability the host's agent announced (a test-driver agent cannot migrate).
    func removeCapability(_ capability: AgentCapabilities, of hostID: String) {
        managed[hostID]?.capabilities.remove(capability)
    }

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
    func run(_ name: String, uuid: String, on hostID: String, state: VMState = .running) {
        domains[hostID, default: [:]][name] = (uuid, state)
    }

    /// The domain leaves the host (libvirt undefines a migrated domain on its source).
    func remove(_ name: String, from hostID: String) {
        domains[hostID]?[name] = nil
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
