import Foundation
import NIOCore
import Wire

/// One monitoring round of a 32-VM host, as a Wire MonitoringReport frame and as the JSON a Snooze local controller
/// sends its group manager (field names from Snooze's REST documentation, shared/seeds/000 and 001). Both carry the
/// same samples; Wire names VMs by Inventory slot, Snooze by name plus both controllers' ids.
enum WireBenchmark {
    static let vmCount = 32

    static func run() {
        let round = Round.generate(vms: vmCount)
        let envelope = WireEnvelope(message: .monitoringReport(round.monitoringReport))
        let transporter = round.snoozeTransporter

        // Wire: encode into one reused buffer, decode with the pipeline decoder.
        var buffer = ByteBufferAllocator().buffer(capacity: 4096)
        envelope.encode(into: &buffer)
        let wireBytes = buffer.readableBytes
        var messages = WireMessageDecoder()
        precondition((try? messages.decode(buffer: &buffer)) == envelope, "Wire round trip changed the report")

        let wireRate = operationsPerSecond {
            buffer.clear()
            envelope.encode(into: &buffer)
            guard let decoded = try? messages.decode(buffer: &buffer) else { fatalError("Wire decode failed") }
            blackHole(decoded)
        }
        let frames = WireFrameDecoder()
        let frameRate = operationsPerSecond {
            buffer.clear()
            envelope.encode(into: &buffer)
            guard let frame = try? frames.decodeFrame(buffer: &buffer), let decoded = try? WireEnvelope(frame: frame)
            else { fatalError("Wire decode failed") }
            blackHole(decoded)
        }

        // JSON: Foundation's encoder and decoder, default (compact) output, as an agent would send it.
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        let json = try! encoder.encode(transporter)
        let jsonBytes = json.count
        precondition(
            (try? decoder.decode(LocalControllerDataTransporter.self, from: json)) == transporter,
            "JSON round trip changed the report"
        )
        let jsonRate = operationsPerSecond {
            guard let data = try? encoder.encode(transporter),
                let decoded = try? decoder.decode(LocalControllerDataTransporter.self, from: data)
            else { fatalError("JSON round trip failed") }
            blackHole(decoded)
        }

        let cores = ProcessInfo.processInfo.activeProcessorCount
        print(
            "monitoring report, \(vmCount) VMs; encode+decode round trips, best of 3 runs of >= 0.5 s; \(cores) cores"
        )
        print(row("wire (WireMessageDecoder)", bytes: wireBytes, rate: wireRate))
        print(row("wire (WireFrameDecoder + WireEnvelope)", bytes: wireBytes, rate: frameRate))
        print(row("json (JSONEncoder + JSONDecoder)", bytes: jsonBytes, rate: jsonRate))
        let bytesRatio = Double(jsonBytes) / Double(wireBytes)
        let throughputRatio = wireRate / jsonRate
        print(String(format: "wire-vs-json bytes_ratio=%.1f throughput_ratio=%.1f", bytesRatio, throughputRatio))
    }

    private static func row(_ name: String, bytes: Int, rate: Double) -> String {
        let padded = name.padding(toLength: 40, withPad: " ", startingAt: 0)
        return padded + String(format: "%6d bytes/report %10.0f reports/s %8.2f µs/report", bytes, rate, 1e6 / rate)
    }
}

/// What an agent measured in one round, in the units it measures: rates are counter deltas over the interval.
private struct Round {
    struct VM {
        var name: String
        var running: Bool
        var cpuCores: Double
        var memoryKiB: UInt32
        var networkRxBytesPerSecond: Double
        var networkTxBytesPerSecond: Double
        var diskReadBytesPerSecond: Double
        var diskWriteBytesPerSecond: Double
    }

    var timestampMilliseconds: Int64
    var localControllerID: String
    var groupManagerID: String
    var hostCPUCores: Double
    var hostMemoryKiB: UInt64
    var hostRxBytesPerSecond: Double
    var hostTxBytesPerSecond: Double
    var vms: [VM]

    static func generate(vms count: Int) -> Round {
        var random = SplitMix64(state: 0x746F_7270_6F72)
        let interval = 5.0 + Double.random(in: -0.004...0.004, using: &random)
        func rate(upTo bytes: UInt64) -> Double {
            Double(UInt64.random(in: 0...bytes, using: &random)) / interval
        }
        let vms = (0..<count).map { index in
            let running = index % 11 != 7
            return VM(
                name: ["web", "db", "cache", "batch"][index % 4] + "-\(index / 4 + 1)",
                running: running,
                cpuCores: running
                    ? Double(UInt64.random(in: 0...16_000_000_000, using: &random)) / (interval * 1e9) : 0,
                memoryKiB: UInt32.random(in: 262_144...16_777_216, using: &random),
                networkRxBytesPerSecond: running ? rate(upTo: 250_000_000) : 0,
                networkTxBytesPerSecond: running ? rate(upTo: 120_000_000) : 0,
                diskReadBytesPerSecond: running ? rate(upTo: 800_000_000) : 0,
                diskWriteBytesPerSecond: running ? rate(upTo: 400_000_000) : 0
            )
        }
        return Round(
            timestampMilliseconds: 1_763_827_205_000 + Int64.random(in: 0..<1000, using: &random),
            localControllerID: uuid(&random),
            groupManagerID: uuid(&random),
            hostCPUCores: vms.reduce(0.35) { $0 + $1.cpuCores },
            hostMemoryKiB: vms.reduce(4_194_304) { $0 + UInt64($1.memoryKiB) },
            hostRxBytesPerSecond: vms.reduce(0) { $0 + $1.networkRxBytesPerSecond },
            hostTxBytesPerSecond: vms.reduce(0) { $0 + $1.networkTxBytesPerSecond },
            vms: vms
        )
    }

    /// A random (version 4) UUID string, as Snooze gives its controllers.
    private static func uuid(_ random: inout SplitMix64) -> String {
        let high = random.next() & ~0xF000 | 0x4000
        let low = random.next() & ~(0xC000 << 48) | 0x8000 << 48
        return WireUUID(high: high, low: low).description
    }

    var monitoringReport: MonitoringReport {
        MonitoringReport(
            timestampMilliseconds: timestampMilliseconds,
            host: MonitoringReport.HostSample(
                cpuCoresInUse: Float(hostCPUCores),
                memoryInUseBytes: hostMemoryKiB * 1024,
                networkRxBytesPerSecond: Float(hostRxBytesPerSecond),
                networkTxBytesPerSecond: Float(hostTxBytesPerSecond)
            ),
            vms: vms.enumerated().map { slot, vm in
                MonitoringReport.VMSample(
                    slot: UInt16(slot),
                    state: vm.running ? .running : .paused,
                    cpuCoresInUse: Float(vm.cpuCores),
                    memoryInUseKiB: vm.memoryKiB,
                    networkRxBytesPerSecond: Float(vm.networkRxBytesPerSecond),
                    networkTxBytesPerSecond: Float(vm.networkTxBytesPerSecond),
                    diskReadBytesPerSecond: Float(vm.diskReadBytesPerSecond),
                    diskWriteBytesPerSecond: Float(vm.diskWriteBytesPerSecond)
                )
            }
        )
    }

    /// Snooze's units: memory in KB, rates in KB/s, as Doubles.
    var snoozeTransporter: LocalControllerDataTransporter {
        LocalControllerDataTransporter(
            localControllerId: localControllerID,
            timeStamp: timestampMilliseconds,
            hostMonitoringData: HostMonitoringData(
                timeStamp: timestampMilliseconds,
                usedCapacity: [
                    hostCPUCores, Double(hostMemoryKiB), hostRxBytesPerSecond / 1024, hostTxBytesPerSecond / 1024,
                ]
            ),
            virtualMachineMonitoringData: vms.map { vm in
                VirtualMachineMonitoringData(
                    virtualMachineLocation: VirtualMachineLocation(
                        virtualMachineId: vm.name,
                        localControllerId: localControllerID,
                        groupManagerId: groupManagerID
                    ),
                    status: vm.running ? "RUNNING" : "PAUSED",
                    timeStamp: timestampMilliseconds,
                    usedCapacity: [
                        vm.cpuCores, Double(vm.memoryKiB), vm.networkRxBytesPerSecond / 1024,
                        vm.networkTxBytesPerSecond / 1024, vm.diskReadBytesPerSecond / 1024,
                        vm.diskWriteBytesPerSecond / 1024,
                    ]
                )
            }
        )
    }
}

// Snooze's monitoring objects, with its JSON field names.

struct LocalControllerDataTransporter: Codable, Equatable {
    var localControllerId: String
    var timeStamp: Int64
    var hostMonitoringData: HostMonitoringData
    var virtualMachineMonitoringData: [VirtualMachineMonitoringData]
}

struct HostMonitoringData: Codable, Equatable {
    var timeStamp: Int64
    /// cpu cores, memory KB, network rx KB/s, tx KB/s.
    var usedCapacity: [Double]
}

struct VirtualMachineMonitoringData: Codable, Equatable {
    var virtualMachineLocation: VirtualMachineLocation
    var status: String
    var timeStamp: Int64
    /// cpu cores, memory KB, network rx KB/s, tx KB/s, disk read KB/s, disk write KB/s.
    var usedCapacity: [Double]
}

struct VirtualMachineLocation: Codable, Equatable {
    var virtualMachineId: String
    var localControllerId: String
    var groupManagerId: String
}
