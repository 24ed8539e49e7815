// Relocation and consolidation: the public entry points (pure, no I/O, no clock).
//
// Input: a `ClusterSnapshot` with `hosts` (state, capacity, estimated use), `vms` (one `VMSnapshot` per running
// VM: host, requested and estimated demand, memory to copy, dirty rate) and `busyHostIDs` (hosts with a migration
// in or out or going down). Only `.active` hosts outside `busyHostIDs` are ever a source or a destination.
//
// - `RelocationThresholds(minimum:mid:maximum:)` (throws `RelocationThresholdsError` naming the dimension when not
//   MIN < MID < MAX within [0, 1]); `.default` is 0.2 / 0.8 / 0.9.
// - `Relocation(thresholds:costModel:placement:).plan(snapshot) -> RelocationPlan`: overload relief and underload
//   evacuation; `plan.moves` (vm, from, to, cost) and `plan.reasons`.
// - `any ConsolidationPolicy`: `SerconConsolidation` (Snooze's baseline) or `CostAwareConsolidation` (ours), each
//   built with thresholds, a `MigrationCostModel` and a `MigrationBudget`;
//   `.plan(snapshot) -> ConsolidationPlan`: moves, freed hosts, total cost, hosts used before/after and the lower
//   bound, and a reason (why there is no plan when `isEmpty`).
// - `MigrationCostModel(bandwidthBytesPerSecond:…).cost(of: vm) -> MigrationCost` (bytes, seconds, converges).

/// Empties hosts by migrating their VMs onto others so the emptied ones can sleep. A plan frees at least one host
/// and costs no more than the policy's budget, or it is empty and says why.
public protocol ConsolidationPolicy: Sendable {
    func plan(_ snapshot: ClusterSnapshot) -> ConsolidationPlan
}
