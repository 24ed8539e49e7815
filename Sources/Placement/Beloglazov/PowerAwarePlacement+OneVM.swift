extension PowerAwarePlacement {
    /// PABFD's rule for one VM, for callers that plan VM by VM with checks of their own (the simulator's CloudSim
    /// profile: a VM's vCPU on one core, an overload detector on the destination, hosts excluded by the phase of
    /// the plan): among `hosts`, the one whose power grows least when the VM's share of it is added to its planned
    /// utilisation; the first of equals. `share(h)` is the VM's demand as a fraction of host `h`'s capacity, nil
    /// where the VM does not fit; `accepts(h)` is asked only about a host that would win (it may be costly).
    /// `pricedFrom(h)`, when given, is the utilisation the increase is counted from instead of the planned one
    /// (CloudSim 3.0.3's code: the host's utilisation measured before the plan).
    public static func leastPowerIncrease(
        hosts: Range<Int>,
        model: (Int) -> HostPowerModel,
        plannedUtilization: (Int) -> Double,
        pricedFrom: ((Int) -> Double)? = nil,
        share: (Int) -> Double?,
        accepts: (Int) -> Bool
    ) -> Int? {
        var best: Int?
        var smallestIncrease = Double.infinity
        for host in hosts {
            guard let added = share(host) else { continue }
            let power = model(host)
            let before = plannedUtilization(host)
            let increase =
                power.watts(atUtilization: before + added) - power.watts(atUtilization: pricedFrom?(host) ?? before)
            guard increase < smallestIncrease, accepts(host) else { continue }
            smallestIncrease = increase
            best = host
        }
        return best
    }
}
