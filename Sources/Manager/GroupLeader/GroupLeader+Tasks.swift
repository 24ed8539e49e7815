import Foundation
import Logging
import Placement
import Wire

/// Running tasks. Each step is written to the store before the next, so a task cut short by a crash resumes from
/// what is recorded: VMs already `starting` on a host are asked of that host again, never placed anew.
extension GroupLeader {
    func execute(taskID: String) async {
        // Once at a time: a task submitted while `run()` reads the unfinished ones is queued by both.
        guard executingTaskIDs.insert(taskID).inserted else { return }
        defer { executingTaskIDs.remove(taskID) }
        guard var task = try? await store.task(id: taskID), task.state == .pending || task.state == .running else {
            return
        }
        if task.kind == "migrate" {
            await runMigration(task)
            return
        }
        var logger = logger
        logger[manager: .task] = "\(task.id)"
        do {
            try await restoreAddresses()
        } catch {
            await finish(&task, failure: "cannot restore address leases: \(error)")
            return
        }
        task.state = .running
        await save(&task, detail: "running")
        let vms: [StoredVM]
        do {
            vms = try await store.vms(inCluster: task.vcName).filter { task.vmName.isEmpty || $0.name == task.vmName }
        } catch {
            await finish(&task, failure: "cannot read the cluster's VMs: \(error)")
            return
        }
        await announcePending(task, vms: vms)
        switch task.kind {
        case "start": await start(vms, task: &task)
        case "boot": await bootPragma(vms, task: &task)
        case "suspend": await act(.suspend, vms, task: &task)
        case "resume": await act(.resume, vms, task: &task)
        case "shutdown": await act(.shutdown, vms, task: &task)
        case "reboot": await act(.reboot, vms, task: &task)
        case "destroy": await destroy(vms, removing: false, task: &task)
        case "remove": await destroy(vms, removing: true, task: &task)
        case "undefine":
            await destroy(vms, removing: true, task: &task)
            if task.outcomes.allSatisfy({ $0.state == .done }) {
                let pragma = try? await store.pragmaCluster(named: task.vcName)
                do {
                    try await store.undefineVirtualCluster(task.vcName)
                } catch {
                    await finish(&task, failure: "\(error)")
                    return
                }
                if let pragma { await removePragmaFiles(pragma) }
            }
        default:
            await finish(&task, failure: "unknown task kind '\(task.kind)'")
            return
        }
        await finish(&task)
        await announceFinished(task, vms: vms)
        logger.notice(
            "task finished",
            metadata: [.state: "\(task.state.rawValue)", .detail: "\(task.detail)"]
        )
    }

    // MARK: Start

    /// How many times one start task places a VM whose start never reached the host it was placed on.
    static let startPlacementRounds = 3

    private func start(_ requested: [StoredVM], task: inout StoredTask) async {
        do {
            try await store.setDesiredState(vmIDs: requested.map(\.id), .running)
        } catch {
            await finish(&task, failure: "\(error)")
            return
        }
        // Which VMs this task takes, decided and claimed in one turn under the lock on their current rows: a VM a
        // live task is starting is never taken by a second task.
        await lockDecisions()
        let wanted = Set(requested.map(\.id))
        let vms = ((try? await store.vms(inCluster: task.vcName)) ?? requested).filter { wanted.contains($0.id) }
        var toResume: [(StoredVM, String)] = []
        var toPlace: [StoredVM] = []
        var toFence: [String: [StoredVM]] = [:]
        var othersStarting: [(StoredVM, String)] = []
        for vm in vms {
            switch vmLifecycle.startStep(for: vm, task: task.id) {
            case .alreadyUp(let host, let state):
                setOutcome(&task, vm.name, .done, host: host, "already \(state.rawValue)")
                continue
            case .ownedByLiveTask(let owner):
                othersStarting.append((vm, owner))
                setOutcome(&task, vm.name, .inProgress, host: vm.hostID ?? "", "being started by task \(owner)")
                continue
            case .refuse(let reason):
                setOutcome(&task, vm.name, .failed, host: vm.hostID ?? "", reason)
                continue
            case .askRecordedHost(let host):
                // Claimed by a run that did not finish: ask the same host again.
                toResume.append((vm, host))
            case .place:
                toPlace.append(vm)
            case .fenceFirst(let host):
                toFence[host, default: []].append(vm)
            }
            vmLifecycle.claim(vm.id, by: task.id)
        }
        unlockDecisions()

        // A VM on a host whose fate is unknown is started elsewhere only once that host is fenced (powered off and
        // confirmed off): never two copies.
        for (host, stranded) in toFence.sorted(by: { $0.key < $1.key }) {
            await save(&task, detail: "fencing \(host) before restarting its VMs elsewhere")
            switch await fence(host) {
            case .fenced:
                toPlace += stranded.map { vm in
                    var vm = vm
                    vm.state = .stopped
                    vm.hostID = nil
                    return vm
                }
            case .notFenced(let reason), .noDriver(let reason):
                for vm in stranded {
                    releaseClaim(vm.id, by: task.id)
                    setOutcome(
                        &task,
                        vm.name,
                        .failed,
                        host: host,
                        "not restarted elsewhere: \(host) is FAILED and may still run it, and it was not fenced "
                            + "(\(reason))"
                    )
                }
            }
        }
        // A VM whose start never reached its host (the host was not connected in time, or did not wake) is placed
        // again on the hosts usable then: nothing runs it anywhere. A start that may have arrived, or one resumed
        // from an earlier run, is never placed again.
        let resumedIDs = Set(toResume.map(\.0.id))
        var notReached: [String: String] = [:]
        // Hosts whose agent answered that it cannot reach its hypervisor: no later round of this task uses them.
        var withoutHypervisor: Set<String> = []
        for round in 1...Self.startPlacementRounds {
            var placeAgain: [StoredVM] = []
            if !toPlace.isEmpty, !rejoinWindow.isClosed {
                await save(&task, detail: "waiting for hosts to rejoin after the manager started")
                await waitForKnownHosts()
            }
            await save(&task, detail: "placing \(toPlace.count) VM\(toPlace.count == 1 ? "" : "s")")
            // Snapshot, plan and claims happen under the decisions lock, so concurrent tasks never plan on the same
            // free capacity and the energy saver never puts a host down between a plan and its claims.
            await lockDecisions()
            let usable = placementTiers(await groupManager.hosts()).filter { !withoutHypervisor.contains($0.0.hostID) }
            var claimed: [(StoredVM, String)] = toResume
            if !toPlace.isEmpty {
                let plan: PlacementPlan
                do {
                    plan = try await self.plan(toPlace, on: usable)
                } catch {
                    for vm in toPlace + toResume.map(\.0) { releaseClaim(vm.id, by: task.id) }
                    unlockDecisions()
                    await finish(&task, failure: "cannot plan: \(error)")
                    return
                }
                let byID = Dictionary(uniqueKeysWithValues: toPlace.map { ($0.id, $0) })
                for unplaced in plan.unplaced {
                    guard let vm = byID[unplaced.vmID] else { continue }
                    // Placed again and now left unplaced: why its first host was not used is said too.
                    let reason = unplaced.reason + (notReached[vm.id].map { " (placed again: \($0))" } ?? "")
                    try? await store.setVMPlacement(id: vm.id, hostID: nil, state: .pending, reason: reason)
                    releaseClaim(vm.id, by: task.id)
                    setOutcome(&task, vm.name, .unplaced, reason)
                }
                for assignment in plan.assignments {
                    guard let vm = byID[assignment.vmID] else { continue }
                    let claimedNow =
                        (try? await store.claimStart(
                            vmID: vm.id,
                            hostID: assignment.hostID,
                            from: [.pending, .stopped, .failed, .missing, .unreachable]
                        )) ?? false
                    if claimedNow {
                        claimed.append((vm, assignment.hostID))
                    } else {
                        releaseClaim(vm.id, by: task.id)
                        setOutcome(&task, vm.name, .done, "started by another task")
                    }
                }
            }
            unlockDecisions()
            let placedOn = Set(claimed.map(\.1)).sorted().joined(separator: ", ")
            let asleep = Set(claimed.map(\.1).filter { power[$0]?.state == .sleeping || power[$0]?.state == .waking })
            for (vm, host) in claimed {
                setOutcome(
                    &task,
                    vm.name,
                    .inProgress,
                    host: host,
                    asleep.contains(host) ? "waiting for \(host) to wake" : "starting"
                )
            }
            await save(&task, detail: claimed.isEmpty ? "nothing to start" : "starting \(claimed.count) on \(placedOn)")
            // Agents work in parallel; results are recorded as they come.
            // Each result says whether the start was sent to the host at all.
            await withTaskGroup(of: (StoredVM, String, CommandResult, Bool).self) { group in
                for (vm, host) in claimed {
                    let xml = await domainXML(for: vm)
                    let groupManager = self.groupManager
                    let wait = configuration.heartbeatTimeout * 2
                    let needsWake = asleep.contains(host)
                    group.addTask {
                        if needsWake, case .failure(let failure) = await self.ensureAwake(host) {
                            return (vm, host, CommandResult(code: .notDelivered, message: failure.description), false)
                        }
                        guard await self.waitUntilConnected(host, within: wait) else {
                            let result = CommandResult(code: .notDelivered, message: "\(host) is not connected")
                            return (vm, host, result, false)
                        }
                        await self.beginCommand(host)
                        let result = await groupManager.send(.start(domainXML: xml), to: host)
                        await self.endCommand(host)
                        return (vm, host, result, true)
                    }
                }
                for await (vm, host, result, delivered) in group {
                    await lockDecisions()
                    // An agent that cannot reach its libvirtd did nothing: as if the start had never reached it.
                    let unavailable = result.code == .hypervisorUnavailable
                    if unavailable { withoutHypervisor.insert(host) }
                    let sent = delivered && !unavailable
                    if !sent, !resumedIDs.contains(vm.id), round < Self.startPlacementRounds, vmAlerts[vm.id] == nil {
                        // Still claimed by this task, and pending (no host) until placed again.
                        try? await store.setVMPlacement(id: vm.id, hostID: nil, state: .pending, reason: result.message)
                        unlockDecisions()
                        notReached[vm.id] = result.message
                        placeAgain.append(vm)
                        setOutcome(&task, vm.name, .inProgress, host: "", "placing again: \(result.message)")
                        await save(&task, detail: progress(task))
                        continue
                    }
                    // A start refused because the domain already runs there (a start resumed after a restart whose
                    // first attempt had worked) leaves the VM running, as the host's inventory says.
                    let runsThere = result.isOK ? false : await latestInventory(of: host, listsActive: vm.id)
                    let started = result.isOK || runsThere
                    if let alert = vmAlerts.removeValue(forKey: vm.id) {
                        setOutcome(&task, vm.name, .failed, host: host, alert)
                    } else if started {
                        try? await store.setVMPlacement(id: vm.id, hostID: host, state: .running)
                        setOutcome(
                            &task,
                            vm.name,
                            .done,
                            host: host,
                            runsThere
                                ? "already running on \(host)"
                                : "running on \(host)" + (notReached[vm.id].map { " (placed again: \($0))" } ?? "")
                        )
                    } else {
                        try? await store.setVMPlacement(id: vm.id, hostID: nil, state: .failed, reason: result.message)
                        setOutcome(&task, vm.name, .failed, host: host, result.message)
                    }
                    vmLifecycle.commandEnded(
                        vm.id,
                        by: task.id,
                        state: started ? .running : .failed,
                        hostID: started ? host : nil,
                        at: .now
                    )
                    unlockDecisions()
                    notifyReleased(vm.id)
                    await save(&task, detail: progress(task))
                }
            }
            guard !placeAgain.isEmpty else { break }
            toPlace = placeAgain
            toResume = []
        }
        // VMs another live task was starting: their outcome is that task's.
        for (vm, owner) in othersStarting {
            await waitUntilReleased(vm.id)
            let now = try? await store.vm(id: vm.id)
            if let now, now.state == .running || now.state == .suspended {
                setOutcome(
                    &task,
                    vm.name,
                    .done,
                    host: now.hostID ?? "",
                    "started by task \(owner) on \(now.hostID ?? "")"
                )
            } else {
                let reason = now?.reason.map { ": \($0)" } ?? ""
                setOutcome(
                    &task,
                    vm.name,
                    .failed,
                    host: now?.hostID ?? "",
                    "task \(owner) did not start it (\(now?.state.rawValue ?? "gone")\(reason))"
                )
            }
            await save(&task, detail: progress(task))
        }
    }

    /// A pragma cluster's boot: its frontend, then (once the frontend runs) its boot dependency's wait, then its
    /// computes. Computes are not started when the frontend did not start.
    private func bootPragma(_ vms: [StoredVM], task: inout StoredTask) async {
        guard let pragma = try? await store.pragmaCluster(named: task.vcName) else {
            await finish(&task, failure: "\(task.vcName) is not a pragma cluster")
            return
        }
        let frontend = vms.filter { $0.name == pragma.frontend }
        let computes = vms.filter { $0.name != pragma.frontend }
        await start(frontend, task: &task)
        guard !frontend.isEmpty, task.outcomes.first(where: { $0.vm == pragma.frontend })?.state == .done else {
            for vm in computes {
                setOutcome(&task, vm.name, .failed, "not started: the frontend \(pragma.frontend) did not start")
            }
            return
        }
        if !computes.isEmpty, pragma.computeDelaySeconds > 0 {
            for vm in computes {
                setOutcome(&task, vm.name, .pending, "starts \(pragma.computeDelaySeconds) s after the frontend")
            }
            await save(&task, detail: "waiting \(pragma.computeDelaySeconds) s after the frontend (boot_dependency)")
            try? await Task.sleep(for: .seconds(pragma.computeDelaySeconds))
        }
        guard !computes.isEmpty else { return }
        await start(computes, task: &task)
    }

    /// Whether the host's latest inventory lists the VM running or paused.
    func latestInventory(of host: String, listsActive vmID: String) async -> Bool {
        await groupManager.inventory(of: host)?.vms.contains {
            "\($0.uuid)".lowercased() == vmID && $0.state.isActive
        } ?? false
    }

    /// The stored domain XML, re-rendered with a fresh lease when the VM's address was released by a destroy.
    private func domainXML(for vm: StoredVM) async -> String {
        guard (try? await store.lease(vmID: vm.id)) == nil else { return vm.templateXML }
        guard let lease = try? addresses.allocate(for: vm.id) else { return vm.templateXML }
        try? await store.saveLease(lease)
        _ = await rewriteSeed(of: vm, lease: lease)
        guard let template = try? DomainTemplate.parse(vm.templateXML, diskExists: { _ in true }) else {
            return vm.templateXML
        }
        return template.domainXML(uuid: vm.id, mac: lease.mac)
    }

    /// Waits until every host the database last saw ACTIVE is connected with an inventory, or the rejoin window
    /// closes (`RejoinWindow`).
    private func waitForKnownHosts() async {
        let expected = Set(((try? await store.hosts()) ?? []).filter { $0.state == .active }.map(\.id))
        while true {
            let ready = Set(await groupManager.hosts().filter { $0.connected && $0.hasInventory }.map(\.hostID))
            switch rejoinWindow.step(expected: expected, ready: ready, at: .now) {
            case .wait:
                try? await Task.sleep(for: .milliseconds(250))
            case .place(let missing):
                if !missing.isEmpty {
                    logger.warning(
                        "placing without hosts that have not rejoined since the manager started",
                        metadata: [.host: "\(missing.sorted().joined(separator: ","))"]
                    )
                }
                return
            }
        }
    }

    /// The hosts a plan may use, each with its tier: awake ones first, sleeping and waking ones only when the awake
    /// ones are full (the policies' tiers); failed ones, awake ones not connected, cordoned ones and sleeping ones
    /// nothing can wake, never.
    func placementTiers(_ hosts: [ManagedHost]) -> [(ManagedHost, HostState)] {
        hosts.compactMap { host in
            guard cordons[host.hostID] == nil else { return nil }
            switch power[host.hostID]?.state {
            case .sleeping?: return canWake(host.hostID) ? (host, .sleeping) : nil
            case .waking?: return (host, .waking)
            case .failed?: return nil
            // A host whose libvirtd does not answer would only answer hypervisorUnavailable.
            default:
                return host.isUsable ? (host, .active) : nil
            }
        }
    }

    /// The configured policy over the usable hosts, each loaded with what its VMs asked for.
    func plan(_ vms: [StoredVM], on hosts: [(ManagedHost, HostState)]) async throws -> PlacementPlan {
        let placed = try await store.vms().filter { [.starting, .running, .suspended].contains($0.state) }
        var use: [String: ResourceVector] = [:]
        for vm in placed {
            guard let host = vm.hostID else { continue }
            use[host, default: .zero] = use[host, default: .zero] + vm.requested
        }
        // Capacity held for VMs migrating in.
        for host in hosts.map(\.0.hostID) { use[host, default: .zero] += migrations.reserved(on: host) }
        let snapshot = ClusterSnapshot(
            hosts: hosts.sorted { $0.0.hostID < $1.0.hostID }.map { host, state in
                HostSnapshot(
                    id: host.hostID,
                    capacity: ResourceVector(
                        cpuCores: Double(host.capacity.cores),
                        memoryBytes: Double(host.capacity.memoryBytes),
                        networkRxBytesPerSecond: Double(host.capacity.nicRxBytesPerSecond),
                        networkTxBytesPerSecond: Double(host.capacity.nicTxBytesPerSecond)
                    ),
                    state: state,
                    estimatedUse: use[host.hostID] ?? .zero,
                    powerModel: configuration.hostPower[host.hostID]
                )
            }
        )
        let requests = vms.map { VMRequest(id: $0.id, requested: $0.requested) }
        let fill = ResourceFractions(uniform: configuration.fillLimit)
        switch configuration.placementPolicy {
        case .firstFit:
            return FirstFit(fillLimit: fill).place(requests, on: snapshot)
        case .bestFitDecreasing:
            return BestFitDecreasing(fillLimit: fill).place(requests, on: snapshot)
        case .powerAware:
            return PowerAwarePlacement(fillLimit: fill).place(requests, on: snapshot)
        case .roundRobin:
            let policy = RoundRobin(fillLimit: fill, startIndex: roundRobinStart)
            let plan = policy.place(requests, on: snapshot)
            roundRobinStart = policy.advanced(past: plan).startIndex
            return plan
        }
    }

    // MARK: Suspend, resume, shutdown, reboot

    /// The VM actions a task sends as one command per VM. Reboot is libvirt's (an ACPI request to the guest): the
    /// VM stays running on its host. Only the HTTP front's Snooze API asks for it (`submitReboot`).
    enum VMAction: String, CustomStringConvertible {
        case suspend, resume, shutdown, reboot

        var description: String { rawValue }
    }

    private func act(_ action: VMAction, _ vms: [StoredVM], task: inout StoredTask) async {
        if action == .shutdown { try? await store.setDesiredState(vmIDs: vms.map(\.id), .stopped) }
        let eligible: Set<StoredVM.State> =
            switch action {
            case .suspend: [.running]
            case .resume: [.suspended]
            case .reboot: [.running]
            case .shutdown: [.running, .suspended, .shuttingDown]
            }
        // A host whose libvirtd does not answer gets no command: its agent could only answer hypervisorUnavailable.
        let hypervisorProblems = Dictionary(
            await groupManager.hosts().compactMap { host in host.hypervisorProblem.map { (host.hostID, $0) } },
            uniquingKeysWith: { first, _ in first }
        )
        var work: [(StoredVM, String)] = []
        for vm in vms {
            if let host = vm.hostID, eligible.contains(vm.state) {
                if let problem = hypervisorProblems[host] {
                    let refusal =
                        "\(host)'s libvirtd does not answer (\(problem)): cannot \(action) \(vm.name) until it does"
                    setOutcome(&task, vm.name, .failed, host: host, refusal)
                } else {
                    work.append((vm, host))
                    setOutcome(&task, vm.name, .inProgress, host: host, "\(action)")
                }
            } else if action == .shutdown, vm.hostID == nil || vm.state == .stopped {
                setOutcome(&task, vm.name, .done, host: vm.hostID ?? "", "not running")
            } else {
                setOutcome(
                    &task,
                    vm.name,
                    .failed,
                    host: vm.hostID ?? "",
                    "cannot \(action) a VM that is \(vm.state.rawValue)"
                )
            }
        }
        await save(&task, detail: "\(action) \(work.count) VM\(work.count == 1 ? "" : "s")")
        await withTaskGroup(of: (StoredVM, String, CommandResult).self) { group in
            for (vm, host) in work {
                let command: VMCommand =
                    switch action {
                    case .suspend: .suspend(name: vm.name)
                    case .resume: .resume(name: vm.name)
                    case .reboot: .reboot(name: vm.name)
                    case .shutdown: .shutdown(name: vm.name)
                    }
                let groupManager = self.groupManager
                group.addTask { (vm, host, await groupManager.send(command, to: host)) }
            }
            for await (vm, host, result) in group {
                if result.isOK {
                    // A shutdown is a request to the guest: the VM is off once its host's inventory shows it off.
                    let (state, reason): (StoredVM.State, String?) =
                        switch action {
                        case .suspend: (.suspended, nil)
                        case .resume, .reboot: (.running, nil)
                        case .shutdown: (.shuttingDown, "shutdown requested; waiting for the guest to power off")
                        }
                    await lockDecisions()
                    try? await store.setVMPlacement(id: vm.id, hostID: host, state: state, reason: reason)
                    vmLifecycle.commandEnded(vm.id, by: task.id, state: state, hostID: host, at: .now)
                    unlockDecisions()
                    setOutcome(
                        &task,
                        vm.name,
                        .done,
                        host: host,
                        action == .shutdown ? "shutdown requested on \(host)" : result.message
                    )
                } else {
                    setOutcome(&task, vm.name, .failed, host: host, result.message)
                }
                await save(&task, detail: progress(task))
            }
        }
    }

    // MARK: Destroy, remove

    /// Forces each VM off, removes its definition from its host and releases its address; `removing` also deletes
    /// it from the cluster. A VM whose host cannot be reached is left as it is, and the outcome says why.
    private func destroy(_ vms: [StoredVM], removing: Bool, task: inout StoredTask) async {
        try? await store.setDesiredState(vmIDs: vms.map(\.id), .stopped)
        for vm in vms {
            setOutcome(&task, vm.name, .inProgress, host: vm.hostID ?? "", removing ? "removing" : "destroying")
        }
        await save(&task, detail: "\(removing ? "removing" : "destroying") \(vms.count) VM\(vms.count == 1 ? "" : "s")")
        await withTaskGroup(of: (StoredVM, CommandResult?).self) { group in
            for vm in vms {
                guard let host = vm.hostID else {
                    group.addTask { (vm, nil) }
                    continue
                }
                let groupManager = self.groupManager
                group.addTask {
                    let destroyed = await groupManager.send(.destroy(name: vm.name), to: host)
                    // Not running or already gone are fine: the goal is that the host no longer has it.
                    guard destroyed.isOK || destroyed.code == .invalidArgument || destroyed.code == .notFound else {
                        return (vm, destroyed)
                    }
                    let undefined = await groupManager.send(.undefine(name: vm.name), to: host)
                    return (vm, undefined.isOK || undefined.code == .notFound ? nil : undefined)
                }
            }
            for await (vm, failure) in group {
                if let failure {
                    setOutcome(&task, vm.name, .failed, host: vm.hostID ?? "", failure.message)
                } else {
                    _ = addresses.release(vmID: vm.id)
                    if removing {
                        let disk = try? await store.deleteVM(id: vm.id)
                        vmLifecycle.forget(vm.id)
                        await removeDiskFiles(disk, vm: vm.name)
                    } else {
                        try? await store.removeLease(vmID: vm.id)
                        await lockDecisions()
                        try? await store.setVMPlacement(id: vm.id, hostID: nil, state: .stopped)
                        vmLifecycle.commandEnded(vm.id, by: task.id, state: .stopped, hostID: nil, at: .now)
                        unlockDecisions()
                    }
                    setOutcome(&task, vm.name, .done, removing ? "removed" : "destroyed")
                }
                await save(&task, detail: progress(task))
            }
        }
    }

    // MARK: Bookkeeping

    /// The task gives up its claim on the VM; tasks waiting for it go on.
    func releaseClaim(_ vmID: String, by taskID: String) {
        vmLifecycle.release(vmID, by: taskID)
        notifyReleased(vmID)
    }

    func notifyReleased(_ vmID: String) {
        for waiter in releaseWaiters.removeValue(forKey: vmID) ?? [] { waiter.resume() }
    }

    /// Returns once no live task owns the VM.
    func waitUntilReleased(_ vmID: String) async {
        while vmLifecycle.owner(of: vmID) != nil {
            await withCheckedContinuation { releaseWaiters[vmID, default: []].append($0) }
        }
    }

    private func setOutcome(
        _ task: inout StoredTask,
        _ vm: String,
        _ state: StoredTask.Outcome.State,
        host: String? = nil,
        _ message: String
    ) {
        if let index = task.outcomes.firstIndex(where: { $0.vm == vm }) {
            task.outcomes[index].state = state
            if let host { task.outcomes[index].hostID = host }
            task.outcomes[index].message = message
        } else {
            task.outcomes.append(.init(vm: vm, state: state, hostID: host ?? "", message: message))
        }
    }

    private func progress(_ task: StoredTask) -> String {
        let done = task.outcomes.filter { $0.state == .done }.count
        return "\(done) of \(task.outcomes.count) done"
    }

    private func save(_ task: inout StoredTask, detail: String) async {
        task.detail = detail
        task.updatedAt = Date()
        do {
            try await store.updateTask(id: task.id, state: task.state, detail: detail, outcomes: task.outcomes)
            taskChanged(task.id)
        } catch {
            logger.error(
                "cannot record task progress",
                metadata: [.task: "\(task.id)", .error: "\(error)"]
            )
        }
    }

    /// Ends the task: succeeded when every VM is done, failed otherwise, with a summary naming what went wrong.
    private func finish(_ task: inout StoredTask, failure: String? = nil) async {
        if let failure {
            task.state = .failed
            metrics.taskEnded(kind: task.kind, outcome: task.state.rawValue)
            await save(&task, detail: failure)
            return
        }
        let failed = task.outcomes.filter { $0.state != .done }
        task.state = failed.isEmpty ? .succeeded : .failed
        metrics.taskEnded(kind: task.kind, outcome: task.state.rawValue)
        let summary: String
        if failed.isEmpty {
            summary = "\(task.kind): \(task.outcomes.count) VM\(task.outcomes.count == 1 ? "" : "s") done"
        } else {
            let reasons = failed.prefix(3).map { "\($0.vm): \($0.message)" }.joined(separator: "; ")
            summary = "\(task.kind): \(failed.count) of \(task.outcomes.count) not done (\(reasons))"
        }
        await save(&task, detail: summary)
    }
}
