import Dispatch
import Logging
import ServiceLifecycle

/// Once the agent has run for `delay` (started, sampled, linked), gives back the pages it touched only while
/// starting (`StartupPages`), once, then waits for its turn to stop. The work blocks, so it runs on a dispatch
/// queue of its own.
struct StartupPagesService: Service {
    let delay: Duration
    let logger: Logger

    func run() async throws {
        do {
            // A stop must not wait for the delay: the group waits for every service before the agent exits.
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        } catch {
            return  // stopping before the delay ran out
        }
        let outcome: Result<StartupPages.Release, StartupPages.ReleaseError> = await withCheckedContinuation {
            continuation in
            DispatchQueue(label: "torpor.agent.startup-pages").async {
                continuation.resume(
                    returning: Result { () throws(StartupPages.ReleaseError) in try StartupPages.releaseNow() }
                )
            }
        }
        switch outcome {
        case .success(let release):
            logger.info(
                "released start-up pages",
                metadata: [
                    "torpor.mappings": "\(release.mappings)",
                    "torpor.mappings_dropped": "\(release.dropped)",
                    "torpor.resident_file_kib_before": "\(release.residentFileKiBBefore)",
                    "torpor.resident_file_kib_after": "\(release.residentFileKiBAfter)",
                ]
            )
        case .failure(let error):
            logger.notice("start-up pages kept", metadata: ["torpor.error": "\(error)"])
        }
        await waitForItsTurnToStop()
    }
}
