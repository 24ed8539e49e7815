/// The energy saver's settings. Defaults follow Snooze (idle 120 s, one reserved host) plus the hysteresis and
/// evaluation windows VMware DPM uses so that a host is not cycled on and off.
public struct EnergyPolicyConfiguration: Sendable, Hashable {
    /// A host with no VM for this long may be powered down (the power-off evaluation window).
    public var idleTime: Duration = .seconds(120)
    /// Idle hosts always kept awake.
    public var reservedHosts = 1
    /// Also keep enough idle awake cores for this fraction of the cores in use (0 = only `reservedHosts`).
    public var reservedLoadFraction = 0.0
    /// A woken host stays up at least this long before it may be powered down again.
    public var minimumAwake: Duration = .seconds(300)
    /// A host that went to sleep is not woken to refill the reserve before this; demand for capacity overrides.
    public var minimumAsleep: Duration = .seconds(120)
    /// A reserve shortfall must last this long before a sleeping host is woken to refill it (the power-on
    /// evaluation window).
    public var powerOnWindow: Duration = .seconds(30)
    public var action: PowerAction = .suspendToRam

    public init() {}
}
