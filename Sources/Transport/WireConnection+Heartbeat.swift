import Wire

extension WireConnection {
    /// Sends a Heartbeat push (request id 0, increasing sequence numbers from 1) now and then every `interval`,
    /// until the calling task is cancelled (returns normally) or a send fails (throws). Run it in a child task next
    /// to the code that consumes `inbound`.
    public func sendHeartbeats(every interval: Duration) async throws(TransportError) {
        var sequence: UInt64 = 0
        while !Task.isCancelled {
            sequence += 1
            try await send(
                .heartbeat(Heartbeat(sequence: sequence, timestampMilliseconds: WallClock.nowMilliseconds()))
            )
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }

    /// Sends a Heartbeat request and returns the round-trip time. The peer's connection answers it on its own.
    public func ping(timeout: Duration) async throws(TransportError) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let heartbeat = Heartbeat(sequence: 0, timestampMilliseconds: WallClock.nowMilliseconds())
        let answer = try await request(.heartbeat(heartbeat), timeout: timeout)
        guard case .heartbeat(heartbeat) = answer else {
            throw .protocolViolation("a ping was answered with \(answer.type) instead of the same Heartbeat")
        }
        return clock.now - start
    }
}
