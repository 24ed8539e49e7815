import NIOCore
import Wire

/// The envelopes a peer sends that are not responses to our requests: its requests (answer them with
/// `WireConnection.reply(to:with:)`) and its pushes (request id 0). Heartbeat requests (pings) are answered by the
/// connection itself and never appear here.
///
/// Single consumer: iterate it from one task only. It ends when the connection closes; it throws
/// `TransportError.peerError` or `.protocolViolation` when the connection closed because of one. While the
/// application does not consume it, at most `inboundBufferHighWatermark` envelopes are buffered and then the
/// connection stops reading from the socket, which also holds back responses to our requests.
public struct WireInboundSequence: AsyncSequence, Sendable {
    public typealias Element = WireEnvelope

    typealias Producer = NIOThrowingAsyncSequenceProducer<
        WireEnvelope,
        any Error,
        NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark,
        InboundDelegate
    >
    typealias Source = Producer.Source

    private let producer: Producer

    /// Makes the sequence and the source the session handler yields into.
    static func make(
        session: NIOLoopBound<WireSessionHandler>,
        configuration: WireConnectionConfiguration
    ) -> (sequence: WireInboundSequence, source: Source) {
        let new = Producer.makeSequence(
            elementType: WireEnvelope.self,
            failureType: (any Error).self,
            backPressureStrategy: .init(
                lowWatermark: configuration.inboundBufferLowWatermark,
                highWatermark: configuration.inboundBufferHighWatermark
            ),
            finishOnDeinit: true,
            delegate: InboundDelegate(session: session)
        )
        return (WireInboundSequence(producer: new.sequence), new.source)
    }

    private init(producer: Producer) {
        self.producer = producer
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: producer.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        private var base: Producer.AsyncIterator

        fileprivate init(base: Producer.AsyncIterator) {
            self.base = base
        }

        public mutating func next() async throws -> WireEnvelope? {
            try await base.next()
        }
    }
}

/// Tells the session handler, on its event loop, when the consumer wants more or has gone away.
struct InboundDelegate: NIOAsyncSequenceProducerDelegate {
    let session: NIOLoopBound<WireSessionHandler>

    func produceMore() {
        let session = self.session
        session.eventLoop.execute { session.value.inboundDemandResumed() }
    }

    func didTerminate() {
        let session = self.session
        session.eventLoop.execute { session.value.inboundTerminated() }
    }
}
