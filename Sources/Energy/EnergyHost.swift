/// One host as the energy policy sees it. Times are offsets from an origin the caller chooses (its clock's
/// reading at start-up, say), so the policy never reads a clock.
public struct EnergyHost: Sendable, Hashable {
    public enum PowerState: String, Sendable, Hashable, CaseIterable {
        case active, sleeping, waking, failed
    }

    public var id: String
    public var state: PowerState
    /// VMs it runs, in any state (a suspended VM still needs its host).
    public var vmCount: Int
    /// VMs being started on it or migrated to it.
    public var incomingVMs: Int
    /// Commands sent to its agent and not yet answered.
    public var commandsInFlight: Int
    /// Since when it has had no VM; nil while it has one.
    public var idleSince: Duration?
    /// When it last finished waking (rejoined); nil if never woken by Torpor.
    public var wokeAt: Duration?
    /// When it last went to sleep; nil if never.
    public var sleptAt: Duration?
    /// What the host can do (from its agent's capabilities and configuration).
    public var supportedActions: Set<PowerAction>
    /// Whether anything could wake it (a wake driver is configured): a sleeping host nothing can wake is never
    /// picked to refill the reserve.
    public var canWake: Bool
    /// Cores it offers and cores its VMs ask for, for the reserve by load.
    public var capacityCores: Double
    public var usedCores: Double

    public init(
        id: String,
        state: PowerState,
        vmCount: Int = 0,
        incomingVMs: Int = 0,
        commandsInFlight: Int = 0,
        idleSince: Duration? = nil,
        wokeAt: Duration? = nil,
        sleptAt: Duration? = nil,
        supportedActions: Set<PowerAction> = Set(PowerAction.allCases),
        canWake: Bool = true,
        capacityCores: Double = 1,
        usedCores: Double = 0
    ) {
        self.id = id
        self.state = state
        self.vmCount = vmCount
        self.incomingVMs = incomingVMs
        self.commandsInFlight = commandsInFlight
        self.idleSince = idleSince
        self.wokeAt = wokeAt
        self.sleptAt = sleptAt
        self.supportedActions = supportedActions
        self.canWake = canWake
        self.capacityCores = capacityCores
        self.usedCores = usedCores
    }

    /// Holds or is about to hold a VM, or is being talked to: never a candidate for power-down.
    public var isBusy: Bool { vmCount > 0 || incomingVMs > 0 || commandsInFlight > 0 }
}
