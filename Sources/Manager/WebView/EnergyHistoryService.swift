import Foundation
import ServiceLifecycle
import Wire

/// Samples the cluster's energy into the web view's history every `recorder.interval`
/// (`http.web_view.sample_interval`), first at start. Only in the group when `http.web_view.enabled`.
struct EnergyHistoryService: Service {
    let recorder: EnergyHistoryRecorder
    /// What `torpor energy` shows, read in-process.
    let energy: @Sendable () async -> EnergyReply
    /// The wall clock the samples are stamped with (the chart's time axis).
    let now: @Sendable () -> Date

    init(
        recorder: EnergyHistoryRecorder,
        energy: @escaping @Sendable () async -> EnergyReply,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.recorder = recorder
        self.energy = energy
        self.now = now
    }

    func run() async throws {
        let interval = recorder.interval
        await cancelWhenGracefulShutdown {
            repeat {
                let reply = await energy()
                recorder.record(EnergySample(at: now(), energy: reply))
            } while (try? await Task.sleep(for: interval)) != nil
        }
    }
}
