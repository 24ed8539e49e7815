import Foundation
import Transport

/// `bench/run ingest`: for each service (Wire, and the gRPC service when its binary is given) and each security
/// (mutual TLS, plaintext), runs the server pinned to core 0 and the simulated agents pinned to core 1 at growing
/// numbers of agents, and prints the server's CPU, reports processed, RSS, and the largest number sustained.
/// Synchronous on purpose: it only starts processes, sleeps and reads their lines.
public struct IngestDriver {
    /// A program that speaks the ControlChannel protocol with `ingest-server` and `ingest-agents` subcommands.
    public struct Service {
        public var name: String
        /// Its `ingest-agents` runs the simulated agents.
        public var executable: String
        /// Runs the server side: `executable ingest-server` unless given.
        public var serverCommand: [String]
        /// Extra arguments of `ingest-agents`.
        public var agentArguments: [String]
        /// Its server answers `settle N` (ControlChannel): the window waits until it has taken in the agents' joins.
        public var settles: Bool

        public init(
            name: String,
            executable: String,
            serverCommand: [String]? = nil,
            agentArguments: [String] = [],
            settles: Bool = false
        ) {
            self.name = name
            self.executable = executable
            self.serverCommand = serverCommand ?? [executable, "ingest-server"]
            self.agentArguments = agentArguments
            self.settles = settles
        }
    }

    public struct Options {
        public var sizes = [1000, 5000, 10_000]
        public var seconds = 20.0
        public var warmUp = 5.0
        public var plaintextOnly = false
        public var refinements = 2
        public var grpcExecutable: String?
        /// torpor-manager: also measure a real group-manager process behind a real leader.
        public var managerExecutable: String?
        /// `--no-coalescing`: the Wire and gRPC servers run without the manager's wakeup coalescing.
        public var coalescing = true
        /// `--alternate K`: instead of searching for the largest size, measure each size K times with the services
        /// taking turns, and report the median of each and of the per-turn ratios (the machine's state moves a
        /// single window's figure by 15 % or more between runs minutes apart).
        public var alternations = 0
        /// `--mtls-only`: skip plaintext.
        public var mutualTLSOnly = false

        public init() {}

        /// Parses `--agents "1000 5000" --seconds S --plaintext-only --refinements K --grpc PATH
        /// --group-manager PATH --no-coalescing --alternate K --mtls-only`.
        public init(arguments: [String]) throws(UsageError) {
            var index = 0
            func value(_ name: String) throws(UsageError) -> String {
                guard index + 1 < arguments.count else { throw UsageError("\(name) needs a value") }
                index += 1
                return arguments[index]
            }
            while index < arguments.count {
                let argument = arguments[index]
                switch argument {
                case "--agents":
                    let text = try value(argument)
                    let sizes = text.split(whereSeparator: { $0 == " " || $0 == "," }).map { Int($0) }
                    guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                        throw UsageError("--agents wants positive counts such as \"1000 5000 10000\", not '\(text)'")
                    }
                    self.sizes = sizes.compactMap { $0 }
                case "--seconds":
                    let text = try value(argument)
                    guard let seconds = Double(text), seconds >= 1 else {
                        throw UsageError("--seconds wants a number of seconds >= 1, not '\(text)'")
                    }
                    self.seconds = seconds
                case "--refinements":
                    let text = try value(argument)
                    guard let count = Int(text), count >= 0 else {
                        throw UsageError("--refinements wants a count >= 0, not '\(text)'")
                    }
                    refinements = count
                case "--plaintext-only": plaintextOnly = true
                case "--no-coalescing": coalescing = false
                case "--mtls-only": mutualTLSOnly = true
                case "--alternate":
                    let text = try value(argument)
                    guard let count = Int(text), count >= 1 else {
                        throw UsageError("--alternate wants a count >= 1, not '\(text)'")
                    }
                    alternations = count
                case "--grpc": grpcExecutable = try value(argument)
                case "--group-manager": managerExecutable = try value(argument)
                default: throw UsageError("unknown option '\(argument)'")
                }
                index += 1
            }
            // A short run needs a short warm-up too (the quick development mode).
            warmUp = min(5, max(2, seconds / 2))
        }
    }

    public struct UsageError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// One measured size.
    struct Row {
        var window: IngestWindow
        var connected: Int
        var serverCPUPercent: Double
        var serverResidentKiB: UInt64?
        var maximumLatenessMilliseconds: Int
        /// GroupManagerReport frames the leader received in the window (a `GM` row), so that a report loop stuck
        /// on its socket shows.
        var leaderReportFrames: Int? = nil
        /// After the window (a `GM` row): the agents stopped, the reports they had sent in all and those the server
        /// had received once its count stopped growing, so that lost frames and frames in flight can be told apart.
        var drained: (sent: Int, received: Int)? = nil
    }

    let options: Options
    let services: [Service]
    let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))

    public init(options: Options, services: [Service]) {
        self.options = options
        self.services = services
    }

    public func run() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-ingest-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = IngestCertificates(directory: directory)
        if !options.plaintextOnly {
            let clock = ContinuousClock()
            let started = clock.now
            try certificates.prepare(agents: options.sizes.max() ?? 0)
            print(
                "issued a manager certificate and \(options.sizes.max() ?? 0) agent certificates in \(clock.now - started)"
            )
        }
        print(
            "server pinned to core 0, simulated agents to core 1; each agent 1 report/s of "
                + "\(SimulatedReport.vmsPerReport) VMs; \(Int(options.warmUp)) s warm-up, CPU over \(Int(options.seconds)) s"
        )
        if let coalescing = ManagerIngest.wakeupCoalescing(arguments: options.coalescing ? [] : ["--no-coalescing"]) {
            print(
                "wake-ups coalesced as the manager does (connections.wakeup_pause "
                    + "\(milliseconds(coalescing.window)) ms from "
                    + "\(coalescing.minimumConnectionsPerLoop) connections per event loop), Wire and gRPC alike; "
                    + "--no-coalescing turns it off for both"
            )
        } else {
            print("wake-ups not coalesced (--no-coalescing), Wire and gRPC alike")
        }
        print(
            "\n" + pad("SERVICE", 8) + pad("LINK", 10) + pad("AGENTS", 8, right: true) + pad("CONN", 8, right: true)
                + pad("CPU %", 8, right: true) + pad("%/1000", 8, right: true)
                + pad("PROCESSED/EXPECTED", 22, right: true)
                + pad("LATE", 7, right: true) + pad("MAX LAG", 9, right: true) + pad("RSS MB", 8, right: true)
                + pad("AGENTS CPU", 11, right: true) + "  VERDICT"
        )
        var perCore: [String: Double] = [:]
        var largestSustained: [String: Int] = [:]
        var summaries: [String] = []
        let links = options.plaintextOnly ? [false] : options.mutualTLSOnly ? [true] : [true, false]
        if options.alternations > 0 {
            try alternate(links: links, certificates: certificates)
            return
        }
        for service in services {
            for tls in links {
                let link = tls ? "mTLS" : "plaintext"
                var search = SustainSearch(sizes: options.sizes, refinements: options.refinements)
                var action = search.start()
                var rows: [Int: Row] = [:]
                while case .measure(let agents) = action {
                    let row = try measure(service, tls: tls ? certificates : nil, agents: agents)
                    rows[agents] = row
                    print(format(service, link, row))
                    action = search.record(row.window.verdict, agents: agents)
                }
                guard case .done(let answer) = action else { continue }
                var summary = "\(service.name) over \(link): "
                if let largest = answer.largestSustained, let row = rows[largest] {
                    let perThousand = row.serverCPUPercent / (Double(largest) / 1000)
                    let agentsPerCore = perThousand > 0 ? 100_000 / perThousand : 0
                    perCore["\(service.name) \(link)"] = agentsPerCore
                    largestSustained["\(service.name) \(link)"] = largest
                    summary += "sustains \(largest) agents"
                    summary += answer.smallestNotSustained.map { " (not \($0))" } ?? " (the largest size asked)"
                    summary += String(
                        format: ", %.1f %% of a core per 1,000 agents: about %.0f agents per core",
                        perThousand,
                        agentsPerCore
                    )
                } else {
                    summary += "sustained none of the sizes"
                }
                if answer.limitedByAgents {
                    summary += "; the simulated agents' core saturated first: the server's limit is higher than shown"
                }
                summaries.append(summary)
            }
        }
        print("")
        for summary in summaries { print(summary) }
        if let wire = perCore["Wire mTLS"] {
            // Met only when measured: the extrapolation says what the core could do, not what it did.
            let measured = largestSustained["Wire mTLS"] ?? 0
            print(
                "target 10,000 agents on one core over mTLS: " + (measured >= 10_000 ? "met" : "missed")
                    + " (largest sustained \(measured); extrapolated \(Int(wire)) agents per core)"
            )
            if let grpc = perCore["gRPC mTLS"], grpc > 0 {
                print(
                    String(
                        format: "Wire / gRPC agents per core over mTLS: %.2f (target >= 3: %@)",
                        wire / grpc,
                        wire / grpc >= 3 ? "met" : "missed"
                    )
                )
            }
        }
    }

    /// `--alternate K`: each size and link K times, the services taking turns; medians and the per-turn ratios.
    private func alternate(links: [Bool], certificates: IngestCertificates) throws {
        var summaries: [String] = []
        for agents in options.sizes {
            for tls in links {
                let link = tls ? "mTLS" : "plaintext"
                var cpu: [String: [Double]] = [:]
                var ratios: [Double] = []
                var unsustained: Set<String> = []
                for _ in 0..<options.alternations {
                    var turn: [String: Double] = [:]
                    for service in services {
                        let row = try measure(service, tls: tls ? certificates : nil, agents: agents)
                        print(format(service, link, row))
                        if row.window.verdict != .sustained { unsustained.insert(service.name) }
                        cpu[service.name, default: []].append(row.serverCPUPercent)
                        turn[service.name] = row.serverCPUPercent
                    }
                    if let wire = turn["Wire"], let grpc = turn["gRPC"], wire > 0 { ratios.append(grpc / wire) }
                }
                var summary = "\(agents) agents over \(link), \(options.alternations) turns: "
                summary += services.map { service in
                    let values = cpu[service.name] ?? []
                    return String(
                        format: "%@ median %.1f %% of a core (%.1f–%.1f)%@",
                        service.name,
                        Self.median(values),
                        values.min() ?? 0,
                        values.max() ?? 0,
                        unsustained.contains(service.name) ? ", NOT sustained in some turn" : ""
                    )
                }.joined(separator: "; ")
                if !ratios.isEmpty {
                    summary += String(
                        format: "; gRPC / Wire CPU per agent: median of the turns %.2f (%.2f–%.2f)%@",
                        Self.median(ratios),
                        ratios.min() ?? 0,
                        ratios.max() ?? 0,
                        tls ? (Self.median(ratios) >= 3 ? ", target >= 3: met" : ", target >= 3: missed") : ""
                    )
                }
                summaries.append(summary)
            }
        }
        print("")
        for summary in summaries { print(summary) }
    }

    private func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    private func measure(_ service: Service, tls certificates: IngestCertificates?, agents: Int) throws -> Row {
        let tlsArguments = certificates.map { ["--tls", $0.directory] } ?? []
        let server = try Child(["taskset", "-c", "0"] + service.serverCommand + tlsArguments)
        defer { server.stop() }
        // `ready PORT`, or `ready PORT PID` when the server is another process the child started.
        let readyFields = server.line().map { $0.split(separator: " ").map(String.init) } ?? []
        guard readyFields.first == "ready", readyFields.count >= 2, let port = Int(readyFields[1]), port > 0 else {
            throw ChildError("the \(service.name) server did not say 'ready PORT'")
        }
        let serverPID = readyFields.count > 2 ? Int32(readyFields[2]) ?? server.pid : server.pid
        let simulated = try Child(
            ["taskset", "-c", "1", service.executable, "ingest-agents", "--port", "\(port)", "--agents", "\(agents)"]
                + tlsArguments + service.agentArguments
        )
        defer { simulated.stop() }
        // Connecting may never end: gRPC's 20,000 mutual-TLS agents were still opening streams after ten minutes
        // on their one core. Past the deadline the row says the agents' side could not do it, and the run goes on.
        let connectDeadline = Duration.seconds(max(60, agents / 100))
        guard let connected = simulated.line(within: connectDeadline) else {
            guard simulated.isRunning else {
                throw ChildError("the simulated agents ended before saying 'connected OK FAILED'")
            }
            print("(\(service.name): \(agents) simulated agents had not all connected after \(connectDeadline))")
            // Their process's CPU over one more second, to show whether their core is what holds them back.
            let before = try ProcessSample.read(pid: simulated.pid)
            Thread.sleep(forTimeInterval: 1)
            let after = try ProcessSample.read(pid: simulated.pid)
            return Row(
                window: IngestWindow(
                    agents: agents,
                    seconds: options.seconds,
                    sent: 0,
                    sentBehind: 0,
                    processed: 0,
                    late: 0,
                    agentsCPUPercent: ProcessSample.cpuPercent(
                        from: before,
                        to: after,
                        seconds: 1,
                        ticksPerSecond: ticksPerSecond
                    )
                ),
                connected: 0,
                serverCPUPercent: 0,
                serverResidentKiB: nil,
                maximumLatenessMilliseconds: 0
            )
        }
        guard connected.hasPrefix("connected "), let open = Int(connected.split(separator: " ")[1]) else {
            throw ChildError("the simulated agents did not say 'connected OK FAILED'")
        }
        if service.settles {
            // A group manager's leader takes in every agent's Joined and Inventory first (SQLite writes):
            // until then the group manager's reports queue behind them, and the window would not be its steady state.
            let limit = Duration.seconds(max(120, agents / 40))
            if let answer = server.settle(agents, within: limit + .seconds(10)) {
                print("(\(service.name), \(agents) agents: \(answer))")
            } else {
                print("(\(service.name), \(agents) agents: not settled within \(limit); measured anyway)")
            }
        }
        Thread.sleep(forTimeInterval: options.warmUp)
        let clock = ContinuousClock()
        // The CPU is measured between the process samples; the reports between the agents' counts, each read right
        // after the server's (a group manager's read over HTTP can take a second under load: the window must not
        // include it at one end and not the other).
        let serverSampleStart = try ProcessSample.read(pid: serverPID)
        let agentsSampleStart = try ProcessSample.read(pid: simulated.pid)
        let sampledFrom = clock.now
        let serverStart = try server.stats()
        let sentStart = try simulated.stats()
        let countedFrom = clock.now
        Thread.sleep(forTimeInterval: options.seconds)
        let serverSampleEnd = try ProcessSample.read(pid: serverPID)
        let agentsSampleEnd = try ProcessSample.read(pid: simulated.pid)
        let sampledFor = clock.now - sampledFrom
        let serverEnd = try server.stats()
        let sentEnd = try simulated.stats()
        let countedFor = clock.now - countedFrom
        let cpuSeconds = Double(sampledFor.components.seconds) + Double(sampledFor.components.attoseconds) * 1e-18
        let seconds = Double(countedFor.components.seconds) + Double(countedFor.components.attoseconds) * 1e-18
        let drained = service.settles ? try drain(server: server, agents: simulated) : nil
        let window = IngestWindow(
            agents: agents,
            seconds: seconds,
            sent: sentEnd[0] - sentStart[0],
            sentBehind: sentEnd[1] - sentStart[1],
            processed: serverEnd[0] - serverStart[0],
            // -1: the server cannot tell how late it processed reports.
            late: serverEnd[1] < 0 ? -1 : serverEnd[1] - serverStart[1],
            agentsCPUPercent: ProcessSample.cpuPercent(
                from: agentsSampleStart,
                to: agentsSampleEnd,
                seconds: cpuSeconds,
                ticksPerSecond: ticksPerSecond
            )
        )
        return Row(
            window: window,
            connected: open,
            serverCPUPercent: ProcessSample.cpuPercent(
                from: serverSampleStart,
                to: serverSampleEnd,
                seconds: cpuSeconds,
                ticksPerSecond: ticksPerSecond
            ),
            serverResidentKiB: serverSampleEnd.residentKiB,
            maximumLatenessMilliseconds: serverEnd[2],
            leaderReportFrames: serverEnd.count > 3 && serverEnd[3] >= 0 ? serverEnd[3] - serverStart[3] : nil,
            drained: drained
        )
    }

    /// Stops the agents' sending, then reads the server's count of received reports until it has not grown for two
    /// seconds (at most a minute): every report sent, against every report received.
    private func drain(server: Child, agents: Child) throws -> (sent: Int, received: Int)? {
        guard let sent = agents.stopSending() else { return nil }
        var received = try server.stats()[0]
        var unchanged = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while unchanged < 2, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 1)
            let now = try server.stats()[0]
            unchanged = now == received ? unchanged + 1 : 0
            received = now
        }
        return (sent, received)
    }

    private func format(_ service: Service, _ link: String, _ row: Row) -> String {
        let window = row.window
        let perThousand = row.serverCPUPercent / (Double(window.agents) / 1000)
        let verdict: String =
            switch window.verdict {
            case .sustained: "sustained"
            case .notSustained: "NOT sustained"
            case .agentsSaturated: "agents' core saturated: says nothing of the server"
            }
        return pad(service.name, 8) + pad(link, 10) + pad("\(window.agents)", 8, right: true)
            + pad("\(row.connected)", 8, right: true)
            + pad(String(format: "%.1f", row.serverCPUPercent), 8, right: true)
            + pad(String(format: "%.2f", perThousand), 8, right: true)
            + pad("\(window.processed)/\(window.expected)", 22, right: true)
            + pad(window.late < 0 ? "-" : "\(window.late)", 7, right: true)
            + pad(window.late < 0 ? "-" : "\(row.maximumLatenessMilliseconds) ms", 9, right: true)
            + pad(row.serverResidentKiB.map { String(format: "%.1f", Double($0) / 1024) } ?? "-", 8, right: true)
            + pad(String(format: "%.1f %%", window.agentsCPUPercent), 11, right: true) + "  " + verdict
            + (row.leaderReportFrames.map { "; the leader received \($0) report frames" } ?? "")
            + (row.drained.map { drained in
                let missing = drained.sent - drained.received
                return "; once the agents stopped: \(drained.received) of the \(drained.sent) reports they sent "
                    + (missing > 0 ? "received, \(missing) MISSING" : "received, none missing")
            } ?? "")
    }

    private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text + " " }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text + " " : text + padding
    }
}

struct ChildError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process speaking the ControlChannel protocol on its stdin and stdout; stderr goes to ours.
final class Child {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered = Data()

    init(_ command: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        // Each child is pinned to one core (taskset), which NIO's core count does not see (it reads cgroup cpusets,
        // not the affinity mask): one event loop per child, as a cpuset of one core would give, instead of one per
        // core of the machine taking turns on the same core. Both services get the same.
        var environment = ProcessInfo.processInfo.environment
        environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] = environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] ?? "1"
        process.environment = environment
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    var isRunning: Bool { process.isRunning }

    /// The next line the child prints; nil when its output ends, or when `timeout` passes first.
    func line(within timeout: Duration? = nil) -> String? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[buffered.startIndex..<newline], as: UTF8.self)
                buffered.removeSubrange(buffered.startIndex...newline)
                return line
            }
            if let deadline {
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { return nil }
                var ready = pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
                let milliseconds =
                    remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1
                guard poll(&ready, 1, Int32(clamping: milliseconds)) > 0 else { continue }
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffered.append(chunk)
        }
    }

    /// Asks `settle N` and returns the text of the `settled …` answer; nil when none came within `timeout`.
    func settle(_ agents: Int, within timeout: Duration) -> String? {
        input.fileHandleForWriting.write(Data("settle \(agents)\n".utf8))
        guard let answer = line(within: timeout), answer.hasPrefix("settled ") else { return nil }
        return String(answer.dropFirst(8))
    }

    /// Asks agents to stop sending; the reports they sent in all, nil if they did not say.
    func stopSending() -> Int? {
        input.fileHandleForWriting.write(Data("stop\n".utf8))
        guard let answer = line(within: .seconds(30)), answer.hasPrefix("stopped ") else { return nil }
        return Int(answer.dropFirst(8))
    }

    /// Asks `stats` and returns the numbers of the `stats …` answer.
    func stats() throws -> [Int] {
        input.fileHandleForWriting.write(Data("stats\n".utf8))
        guard let answer = line(), answer.hasPrefix("stats ") else {
            throw ChildError("\(process.arguments?.joined(separator: " ") ?? "a child") did not answer stats")
        }
        return answer.split(separator: " ").dropFirst().compactMap { Int($0) }
    }

    /// Closes its stdin (it exits) and waits for it; one still running 5 s later (stuck connecting) is killed.
    func stop() {
        try? input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        // SIGKILL: a child may have inherited SIGTERM ignored (as under some test runners).
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
