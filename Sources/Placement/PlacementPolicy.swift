/// Decides where VMs go. Implementations are pure: no I/O, no clock, no hidden state; whatever must carry over
/// between plans (a round-robin cursor) lives in the policy value and comes back in the plan.
public protocol PlacementPolicy: Sendable {
    /// Places `vms` on `snapshot`, each VM seeing the capacity taken by those placed before it in the same plan.
    func place(_ vms: [VMRequest], on snapshot: ClusterSnapshot) -> PlacementPlan
}
