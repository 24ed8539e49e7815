/// What one measuring window of `bench/run ingest` saw, and whether the server sustained it.
public struct IngestWindow: Sendable, Equatable {
    public var agents: Int
    public var seconds: Double
    /// Reports the simulated agents sent during the window.
    public var sent: Int
    /// Sends that went out more than half an interval after their time: the agents' side fell behind.
    public var sentBehind: Int
    /// Reports the server put into its rings during the window.
    public var processed: Int
    /// Of those, reports in the rings more than one interval after they were sampled; -1 when the server cannot
    /// tell (a group-manager process measured from outside: `processed` is then the reports it received).
    public var late: Int
    /// CPU % of one core used by the simulated agents' process (saturated near 100).
    public var agentsCPUPercent: Double

    public init(
        agents: Int,
        seconds: Double,
        sent: Int,
        sentBehind: Int,
        processed: Int,
        late: Int,
        agentsCPUPercent: Double
    ) {
        self.agents = agents
        self.seconds = seconds
        self.sent = sent
        self.sentBehind = sentBehind
        self.processed = processed
        self.late = late
        self.agentsCPUPercent = agentsCPUPercent
    }

    /// One report per agent per second.
    public var expected: Int { Int((Double(agents) * seconds).rounded()) }

    /// Sustained: every report the agents sent on time was processed within its interval. Reports crossing the
    /// window's edges make `processed` and `sent` differ by a few: 1 % of slack. When the agents could not send
    /// on time (their core is the bottleneck) the window says nothing about the server.
    public var verdict: SustainSearch.Verdict {
        let slack = Double(expected) * 0.01
        if Double(sent) < Double(expected) - slack || Double(sentBehind) > slack {
            return .agentsSaturated
        }
        if late > 0 || Double(processed) < Double(sent) - slack { return .notSustained }
        return .sustained
    }
}
