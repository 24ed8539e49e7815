import Placement

/// The loop's policies: `Placement.Relocation` and the configured `Placement.ConsolidationPolicy` (Sercon or
/// cost-aware), with the thresholds, cost model and budget of manager.yaml.
public struct PlacementLoadPlanner: LoadPlanner {
    public var relocationPolicy: Relocation
    public var consolidationPolicy: any ConsolidationPolicy
    public var costModel: MigrationCostModel
    public var policyName: String

    public init(configuration: ManagerConfiguration) {
        let thresholds = configuration.relocation.thresholds
        let costModel = MigrationCostModel(bandwidthBytesPerSecond: configuration.consolidation.bandwidthBytesPerSecond)
        let budget = MigrationBudget(maximumSeconds: configuration.consolidation.budget / .seconds(1))
        self.costModel = costModel
        self.policyName = configuration.consolidation.policy.rawValue
        // Destinations as initial placement chooses them, under the MID cap.
        let placement: any PlacementPolicy =
            switch configuration.placementPolicy {
            case .firstFit: FirstFit(loadNorm: configuration.estimator.sortNorm)
            case .roundRobin: RoundRobin()
            case .bestFitDecreasing: BestFitDecreasing(norm: configuration.estimator.sortNorm)
            case .powerAware: PowerAwarePlacement()
            }
        relocationPolicy = Relocation(thresholds: thresholds, costModel: costModel, placement: placement)
        consolidationPolicy =
            switch configuration.consolidation.policy {
            case .sercon:
                SerconConsolidation(
                    thresholds: thresholds,
                    costModel: costModel,
                    budget: budget,
                    norm: configuration.estimator.sortNorm
                )
            case .costAware:
                {
                    var policy = CostAwareConsolidation(thresholds: thresholds, costModel: costModel, budget: budget)
                    policy.spareHostShare = configuration.consolidation.spareHostShare
                    return policy
                }()
            }
    }

    /// The shared decision (`Placement.ClusterLoadPlanner`, which torpor-sim calls too): relocation never empties an
    /// underloaded host onto an empty one, which would only move the load back and forth.
    var shared: ClusterLoadPlanner {
        ClusterLoadPlanner(relocationPolicy: relocationPolicy, consolidationPolicy: consolidationPolicy)
    }

    public func relocation(_ snapshot: PlanningSnapshot) -> LoadPlan {
        let plan = shared.relocation(snapshot.placement)
        let before = snapshot.hostsInUse
        let vms = snapshot.vmsByID
        return LoadPlan(
            policy: "relocation",
            moves: plan.moves.map { Self.move($0, vms) },
            hostsFreed: plan.emptiedHostIDs,
            hostsUsedBefore: before,
            hostsUsedAfter: before - plan.emptiedHostIDs.count,
            hostsLowerBound: 0,
            reason: plan.moves.isEmpty
                ? (plan.reasons.isEmpty ? "no host over MAX or under MIN" : plan.reasons.joined(separator: "; "))
                : nil,
            overloadedHosts: plan.overloadedHostIDs,
            underloadedHosts: plan.underloadedHostIDs
        )
    }

    public func consolidation(_ snapshot: PlanningSnapshot) -> LoadPlan {
        // `shared` always carries the configured policy; the fallback only satisfies the optional.
        let plan = shared.consolidation(snapshot.placement) ?? consolidationPolicy.plan(snapshot.placement)
        let vms = snapshot.vmsByID
        return LoadPlan(
            policy: policyName,
            moves: plan.moves.map { Self.move($0, vms) },
            hostsFreed: plan.freedHostIDs,
            hostsUsedBefore: plan.hostsUsedBefore,
            hostsUsedAfter: plan.hostsUsedAfter,
            hostsLowerBound: plan.hostsUsedLowerBound ?? 0,
            reason: plan.isEmpty ? plan.reason : nil
        )
    }
}

extension PlanningSnapshot {
    /// As the policies take it: every host with all its load; only the movable VMs as `vms` (a host whose load
    /// they do not account for is never emptied); hosts with a migration in or out as busy.
    var placement: ClusterSnapshot {
        ClusterSnapshot(
            hosts: cluster.hosts,
            vms: vms.filter(\.movable).map { vm in
                VMSnapshot(
                    id: vm.id,
                    hostID: vm.hostID,
                    requested: vm.requested,
                    estimated: vm.estimated,
                    memoryToCopyBytes: vm.memoryBytes,
                    memoryDirtyRateBytesPerSecond: vm.dirtyRateBytesPerSecond ?? 0
                )
            },
            busyHostIDs: migratingHosts
        )
    }

    /// ACTIVE hosts running VMs.
    var hostsInUse: Int {
        cluster.hosts.filter { $0.state == .active && !$0.vmIDs.isEmpty }.count
    }

    var vmsByID: [String: PlanningVM] {
        Dictionary(vms.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension PlacementLoadPlanner {
    /// A policy's move with the VM's name and memory.
    static func move(_ move: MigrationMove, _ vms: [String: PlanningVM]) -> LoadPlan.Move {
        let vm = vms[move.vmID]
        return LoadPlan.Move(
            vmID: move.vmID,
            vmName: vm?.name ?? move.vmID,
            fromHost: move.fromHostID,
            toHost: move.toHostID,
            memoryBytes: vm?.memoryBytes ?? 0,
            costBytes: move.cost.bytes,
            costSeconds: move.cost.seconds
        )
    }
}
