import Foundation

/// Reads a BMC's power sensors through libipmimonitoring. Usable from many tasks at once: every read gets its own
/// context and its own thread.
public struct IPMIPowerReader: Sendable {
    public init() {}

    /// The BMC's sensors whose unit is watts; throws `.noPowerSensor` when it has none.
    ///
    /// freeipmi blocks for a whole IPMI session (up to `target.sessionTimeout`), so the call runs on a thread of
    /// its own, never on the cooperative pool. It cannot be interrupted: task cancellation waits for the timeout.
    public func readPower(_ target: IPMITarget) async throws(IPMIMonitoringError) -> [PowerSensorReading] {
        let result: Result<[PowerSensorReading], IPMIMonitoringError> = await withCheckedContinuation { continuation in
            // A thread per read rather than a shared queue: a few hosts' reads each block for seconds, and one
            // unreachable BMC must not delay the others.
            let thread = Thread {
                continuation.resume(
                    returning: Result { () throws(IPMIMonitoringError) in try Self.readBlocking(target) }
                )
            }
            thread.name = "torpor-ipmi"
            thread.start()
        }
        return try result.get()
    }

    /// The blocking read: create the SDR cache directory, then one context for one session.
    static func readBlocking(_ target: IPMITarget) throws(IPMIMonitoringError) -> [PowerSensorReading] {
        do {
            try FileManager.default.createDirectory(
                atPath: target.sdrCacheDirectory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw .sdrCache(directory: target.sdrCacheDirectory, message: error.localizedDescription)
        }
        let context = try MonitoringContext(host: target.host, sdrCacheDirectory: target.sdrCacheDirectory)
        let readings = try context.readPowerSensors(
            user: target.user,
            password: target.password,
            timeouts: (milliseconds(target.sessionTimeout), milliseconds(target.retransmissionTimeout))
        )
        guard !readings.isEmpty else { throw .noPowerSensor(host: target.host) }
        return readings
    }

    /// A duration as freeipmi's millisecond `int`, at least 1 (freeipmi takes 0 or less as "its default").
    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(1, total))
    }
}
