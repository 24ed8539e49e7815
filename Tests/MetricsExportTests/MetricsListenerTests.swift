import Logging
import Metrics
import MetricsExport
import NIOCore
import NIOPosix
import ServiceLifecycle
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The listener over real sockets: what Prometheus sees, and what a hostile or broken peer gets.
@Suite("MetricsListener")
struct MetricsListenerTests {
    /// Runs a listener on a free loopback port with a counter and a scrape-time gauge, for the body of `test`.
    private func withListener(
        limits: MetricsListenerLimits = MetricsListenerLimits(),
        _ test: (_ port: Int, _ registry: MetricsRegistry) async throws -> Void
    ) async throws {
        let registry = MetricsRegistry()
        let listener = try await MetricsListener.bind(
            host: "127.0.0.1",
            port: 0,
            registry: registry,
            limits: limits,
            logger: Logger(label: "test")
        )
        let port = try #require(listener.localAddress?.port)
        try await withThrowingTaskGroup { group in
            group.addTask { try await listener.run() }
            try await test(port, registry)
            group.cancelAll()
        }
    }

    @Test("GET /metrics answers the exposition with the text format's media type, refreshed at scrape time")
    func getMetrics() async throws {
        try await withListener { port, registry in
            Counter(label: "torpor_test_events_total", dimensions: [("kind", "a")], factory: registry.factory)
                .increment(by: 3)
            let scrapes = ScrapeCount()
            registry.onScrape {
                let count = await scrapes.next()
                Gauge(label: "torpor_test_scrapes", factory: registry.factory).record(count)
            }
            for expected in 1...2 {
                let response = try await RawHTTPPeer.exchange(
                    port: port,
                    "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                let parsed = try #require(RawHTTPPeer.parse(response), "\(response)")
                #expect(parsed.status == 200)
                #expect(parsed.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(parsed.headers["content-length"] == "\(parsed.body.utf8.count)")
                #expect(parsed.body.contains("# TYPE torpor_test_events_total counter\n"))
                #expect(parsed.body.contains("torpor_test_events_total{kind=\"a\"} 3\n"))
                #expect(parsed.body.contains("torpor_test_scrapes \(expected)"))
            }
        }
    }

    @Test("keep-alive: two scrapes on one connection")
    func keepAlive() async throws {
        try await withListener { port, registry in
            Gauge(label: "torpor_test_value", factory: registry.factory).record(7)
            let request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            let response = try await RawHTTPPeer.exchange(
                port: port,
                request + request + "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            #expect(response.components(separatedBy: "HTTP/1.1 200 OK").count == 4, "\(response)")
            #expect(response.components(separatedBy: "torpor_test_value 7").count == 4)
        }
    }

    @Test(
        "other paths are 404, other methods 405 with Allow, HEAD has no body",
        arguments: [
            ("GET / HTTP/1.1", 404, nil as String?),
            ("GET /metric HTTP/1.1", 404, nil),
            ("POST /metrics HTTP/1.1", 405, "GET, HEAD"),
            ("DELETE /metrics HTTP/1.1", 405, "GET, HEAD"),
            ("HEAD /metrics HTTP/1.1", 200, nil),
        ]
    )
    func otherRequests(requestLine: String, status: Int, allow: String?) async throws {
        try await withListener { port, registry in
            Gauge(label: "torpor_test_value", factory: registry.factory).record(1)
            let response = try await RawHTTPPeer.exchange(
                port: port,
                "\(requestLine)\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            let parsed = try #require(RawHTTPPeer.parse(response), "\(response)")
            #expect(parsed.status == status)
            #expect(parsed.headers["allow"] == allow)
            if requestLine.hasPrefix("HEAD") {
                #expect(parsed.body.isEmpty)
                #expect(Int(parsed.headers["content-length"] ?? "") ?? 0 > 0)
            }
        }
    }

    @Test("a malformed request is answered 400 and closed")
    func malformed() async throws {
        try await withListener { port, _ in
            let response = try await RawHTTPPeer.exchange(port: port, "GARBAGE\r\n\r\n")
            #expect(RawHTTPPeer.parse(response)?.status == 400, "\(response)")
        }
    }

    @Test("a request larger than the limit is answered 413 and closed")
    func oversized() async throws {
        var limits = MetricsListenerLimits()
        limits.maximumRequestBytes = 1024
        try await withListener(limits: limits) { port, _ in
            let header = "X-Filler: " + String(repeating: "a", count: 4000) + "\r\n"
            let response = try await RawHTTPPeer.exchange(port: port, "GET /metrics HTTP/1.1\r\n" + header + "\r\n")
            #expect(RawHTTPPeer.parse(response)?.status == 413, "\(response)")
            // Still serving others.
            let next = try await RawHTTPPeer.exchange(port: port, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(RawHTTPPeer.parse(next)?.status == 200)
        }
    }

    @Test("a peer that never finishes its request is closed after the request timeout")
    func slowPeer() async throws {
        var limits = MetricsListenerLimits()
        limits.requestTimeout = .seconds(2)
        try await withListener(limits: limits) { port, _ in
            let started = ContinuousClock.now
            // Half a request line, then nothing: the listener closes, so the read ends with no answer. Over a plain
            // socket, whose send and recv do not care whether the listener closed first (a loaded CI run saw "I/O on
            // closed channel" when the channel was set up after the timeout).
            let response = try await RawHTTPPeer.exchangeOnSocket(port: port, "GET /metr")
            #expect(response.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(60))
            // An idle keep-alive connection ends too, after its answer (sent at once on connecting, so well within
            // the timeout).
            let idle = try await RawHTTPPeer.exchangeOnSocket(
                port: port,
                "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                timeoutSeconds: 60
            )
            #expect(RawHTTPPeer.parse(idle)?.status == 200, "\(idle)")
        }
    }

    @Test("connections over the limit are closed at once; those within are served")
    func connectionLimit() async throws {
        var limits = MetricsListenerLimits()
        limits.maximumConnections = 2
        try await withListener(limits: limits) { port, _ in
            let held = [try await RawHTTPPeer.connect(port: port), try await RawHTTPPeer.connect(port: port)]
            // The listener counts a connection when it accepts it: wait until both are in before the third.
            try await Task.sleep(for: .milliseconds(200))
            let refused = try await RawHTTPPeer.exchangeOnSocket(
                port: port,
                "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"
            )
            #expect(refused.isEmpty)
            // The listener may already have closed one (a loaded CI run saw "I/O on closed channel" here): the
            // point is the third refused above and a later one served below.
            for peer in held { try? await peer.close() }
            // Until the listener has seen the held peers go, a new connection is still over the limit and closed
            // at once ("I/O on closed channel"): that is a retry, not a failure.
            try await eventually {
                let served = try? await RawHTTPPeer.exchange(
                    port: port,
                    "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"
                )
                return served.flatMap { RawHTTPPeer.parse($0)?.status } == 200
            }
        }
    }

    @Test("a port in use is a clear start-up error naming metrics.listen")
    func portInUse() async throws {
        let registry = MetricsRegistry()
        let first = try await MetricsListener.bind(host: "127.0.0.1", port: 0, registry: registry, logger: Logger(label: "t"))
        let port = try #require(first.localAddress?.port)
        let error = await #expect(throws: MetricsListener.BindError.self) {
            _ = try await MetricsListener.bind(host: "127.0.0.1", port: port, registry: registry, logger: Logger(label: "t"))
        }
        let description = try #require(error).description
        #expect(description.contains("127.0.0.1:\(port)"))
        #expect(description.contains("metrics.listen"))
        #expect(description.lowercased().contains("in use"), "\(description)")
        await first.close()
    }

    @Test("graceful shutdown of its ServiceGroup stops the listener")
    func gracefulShutdown() async throws {
        let registry = MetricsRegistry()
        let listener = try await MetricsListener.bind(host: "127.0.0.1", port: 0, registry: registry, logger: Logger(label: "t"))
        let port = try #require(listener.localAddress?.port)
        let group = ServiceGroup(services: [listener], logger: Logger(label: "t"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            let response = try await RawHTTPPeer.exchange(port: port, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(RawHTTPPeer.parse(response)?.status == 200)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // A plain socket: a NIOAsyncChannel connected here and then dropped unclosed traps (if another test's
        // listener took the freed port, the connect succeeds).
        // Beside other suites a connect right after the shutdown was still accepted (twice in two runs): the port is
        // given a moment to close.
        var refused = false
        for _ in 0..<100 where !refused {
            if let reconnected = LoopbackSocket.connect(port: port, timeoutSeconds: 5) {
                close(reconnected)
                try await Task.sleep(for: .milliseconds(100))
            } else {
                refused = true
            }
        }
        #expect(refused, "127.0.0.1:\(port) still accepts connections 10 s after the shutdown")
    }
}

/// Counts scrapes, for checking that hooks run before each one.
actor ScrapeCount {
    private var count = 0
    func next() -> Int {
        count += 1
        return count
    }
}

/// Polls `condition` until it holds, for up to `timeout` (generous: the machine may be loaded).
func eventually(
    timeout: Duration = .seconds(30),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("condition not met within \(timeout)")
}
