import Logging
import NIOCore
import Synchronization

/// The `ConnectionGate` of one server, shared by its listening channel and its children's event loops. It also
/// remembers which open sockets are served, so a socket's close updates both counts at once.
final class SharedConnectionGate: Sendable {
    private struct State {
        var gate: ConnectionGate
        /// Every accepted socket still open: true once it is served.
        var sockets: [ObjectIdentifier: Bool] = [:]
    }

    private let state: Mutex<State>
    private let acceptedCount = Atomic<Int>(0)
    let maximumServed: Int
    let maximumOpen: Int

    init(_ gate: ConnectionGate) {
        self.state = Mutex(State(gate: gate))
        self.maximumServed = gate.maximumServed
        self.maximumOpen = gate.maximumOpen
    }

    /// Connections served now.
    var served: Int { state.withLock { $0.gate.served } }

    /// Sockets accepted since the server started; only grows.
    var acceptedSoFar: Int { acceptedCount.load(ordering: .relaxed) }

    func acceptWanted() -> ConnectionGate.AcceptDecision {
        state.withLock { $0.gate.acceptWanted() }
    }

    func accepted(_ socket: any Channel) {
        acceptedCount.add(1, ordering: .relaxed)
        state.withLock { state in
            state.gate.socketAccepted()
            state.sockets[ObjectIdentifier(socket)] = false
        }
    }

    /// Refuses a socket that already closed (it would never be counted out again).
    func admit(_ socket: any Channel) -> ConnectionGate.Admission {
        state.withLock { state in
            guard state.sockets[ObjectIdentifier(socket)] != nil else { return .refuse(startsRun: false) }
            let admission = state.gate.admit()
            if case .admit = admission { state.sockets[ObjectIdentifier(socket)] = true }
            return admission
        }
    }

    /// True when accepting was held and should resume.
    func closed(_ socket: any Channel) -> Bool {
        state.withLock { state in
            guard let served = state.sockets.removeValue(forKey: ObjectIdentifier(socket)) else { return false }
            return state.gate.socketClosed(wasServed: served)
        }
    }
}

/// The first handler of a listening channel: counts accepted sockets until they close, and holds the listening
/// socket's reads (so nothing is accepted) while the gate says the descriptors are spent.
///
/// NIO accepts up to `maxMessagesPerRead` sockets per read, so the count may pass the limit by that many: the
/// descriptor reserve covers it.
final class ConnectionGateHandler: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = any Channel
    typealias OutboundOut = any Channel

    private let gate: SharedConnectionGate
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var readHeld = false

    init(gate: SharedConnectionGate, logger: Logger) {
        self.gate = gate
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let accepted = unwrapInboundIn(data)
        let gate = self.gate
        gate.accepted(accepted)
        let listening = NIOLoopBound(self, eventLoop: context.eventLoop)
        accepted.closeFuture.whenComplete { _ in
            guard gate.closed(accepted) else { return }
            listening.eventLoop.execute { listening.value.resumeAccepting() }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        switch gate.acceptWanted() {
        case .accept:
            context.read()
        case .hold(let startsPause):
            readHeld = true
            if startsPause {
                logger.warning(
                    "not accepting connections: the descriptors left are kept in reserve",
                    metadata: [TransportMetadataKey.openConnections.rawValue: "\(gate.maximumOpen)"]
                )
            }
        }
    }

    private func resumeAccepting() {
        guard readHeld, let context else { return }
        readHeld = false
        logger.notice("accepting connections again")
        context.read()
    }
}
