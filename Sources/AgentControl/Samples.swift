import ArgumentParser
import Wire

/// `agentctl samples VM`: the VM's ring buffer, oldest first.
struct Samples: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the samples the agent keeps for one VM.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "VM name or UUID.")
    var vm: String

    @Option(name: .long, help: "Only the newest N samples.")
    var last: Int?

    func validate() throws {
        if let last, !(1...65535).contains(last) { throw ValidationError("--last must be between 1 and 65535") }
    }

    func run() async throws {
        let session = AgentSession(options: options)
        let request = SamplesRequest(vmName: vm, last: UInt16(last ?? 0))
        let reply = try await session.run { try await session.request(.samplesRequest(request), on: $0) }
        guard case .samplesReply(let samples) = reply else { throw session.unexpected(reply, expected: "SamplesReply") }
        if options.json {
            Output.printJSON([
                "vm": samples.vmName,
                "uuid": samples.uuid.description,
                "capacity": Int(samples.capacity),
                "samples": samples.samples.map(Output.metricsJSON),
            ])
            return
        }
        print("\(samples.vmName) (\(samples.uuid)): \(samples.samples.count) of \(samples.capacity) samples")
        var rows = [["TIME", "CPU", "MEMORY", "RX/s", "TX/s", "DISK R/s", "DISK W/s"]]
        for m in samples.samples {
            rows.append([
                Output.isoTime(milliseconds: m.timestampMilliseconds), String(format: "%.3f", m.cpuCoresInUse),
                Output.bytes(Double(m.memoryInUseBytes)), Output.bytes(m.networkRxBytesPerSecond),
                Output.bytes(m.networkTxBytesPerSecond), Output.bytes(m.diskReadBytesPerSecond),
                Output.bytes(m.diskWriteBytesPerSecond),
            ])
        }
        if rows.count > 1 { print(Output.table(rows)) }
    }
}
