import Logging
import ServiceLifecycle
import Wire

/// The sleep hook's signals: SIGUSR1 (resumed) reconnects to the manager at once; SIGUSR2 (the system is about
/// to sleep on its own) tells the manager first.
struct ResumeSignalService: Service {
    let signals: AsyncStream<ResumeSignal>
    let link: ManagerLinkControl
    let logger: Logger

    func run() async throws {
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .resumed:
                logger.notice("resumed: reconnecting to the manager", metadata: ["torpor.signal": "\(signal)"])
                link.reconnectNow(resumed: true)
            case .systemSleeping:
                logger.notice(
                    "system going to sleep",
                    metadata: ["torpor.signal": "\(signal)", "torpor.action": "\(PowerCommand.Action.suspendToRam)"]
                )
                await link.send(.goingDown(.suspendToRam, reason: "system sleep"))
            }
        }
    }
}
