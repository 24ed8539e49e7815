/// The admission rules of a `WireServer`, with no I/O: events in, decisions out. `ConnectionGateHandler` runs
/// them on the listening channel, the server's child initializer asks `admit()` for each accepted socket.
///
/// Every accepted socket holds a descriptor until it closes, whether it is served or only being refused, so the
/// gate counts both: at `maximumOpen` it stops accepting (the kernel's backlog holds the rest) until one closes.
/// Below that, up to `maximumServed` connections are served and the others refused with an Error frame, which
/// tells a dialler why instead of leaving it waiting. `maximumServed` leaves a little room under `maximumOpen` for
/// those refusals.
public struct ConnectionGate: Hashable, Sendable {
    public enum AcceptDecision: Hashable, Sendable {
        case accept
        /// Stop accepting until `socketClosed()` says to resume; `startsPause` for the first hold (log it once).
        case hold(startsPause: Bool)
    }

    public enum Admission: Hashable, Sendable {
        /// Serve it; `refusedBefore` counts the refusals of the run this admission ends (log it when non-zero).
        case admit(refusedBefore: Int)
        /// Refuse it; `startsRun` for the first refusal since the last admission (log it once).
        case refuse(startsRun: Bool)
    }

    /// Connections served at once.
    public let maximumServed: Int
    /// Accepted sockets open at once, served or being refused.
    public let maximumOpen: Int
    public private(set) var open = 0
    public private(set) var served = 0
    private var refusedInRun = 0
    private var paused = false

    /// `descriptorLimit` nil means unlimited.
    public init(limits: WireServerLimits, descriptorLimit: Int?) {
        let ceiling = descriptorLimit.map { max(1, $0 - limits.reservedDescriptors) } ?? Int.max
        // Room for refusals: an eighth of the ceiling, at most 64 sockets.
        let refusalRoom = ceiling == Int.max ? 0 : min(64, ceiling / 8)
        self.maximumOpen = ceiling
        self.maximumServed = max(1, min(limits.maximumConnections, ceiling - refusalRoom))
    }

    /// The listening socket is about to accept.
    public mutating func acceptWanted() -> AcceptDecision {
        guard open >= maximumOpen else { return .accept }
        defer { paused = true }
        return .hold(startsPause: !paused)
    }

    /// A socket was accepted (it holds a descriptor from now until `socketClosed()`).
    public mutating func socketAccepted() {
        open += 1
    }

    /// Decides whether an accepted socket is served.
    public mutating func admit() -> Admission {
        guard served < maximumServed else {
            refusedInRun += 1
            return .refuse(startsRun: refusedInRun == 1)
        }
        served += 1
        defer { refusedInRun = 0 }
        return .admit(refusedBefore: refusedInRun)
    }

    /// An accepted socket closed, served or not; true when accepting was held and should resume now.
    public mutating func socketClosed(wasServed: Bool) -> Bool {
        open = max(0, open - 1)
        if wasServed { served = max(0, served - 1) }
        guard paused, open < maximumOpen else { return false }
        paused = false
        return true
    }
}
