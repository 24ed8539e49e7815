import Foundation
import Logging
import Testing
import Wire

@testable import Manager

/// The web view's routes on a real HTTP front, called with curl: the page and its assets, the JSON endpoints'
/// shapes, and 4xx with a message for a host that does not exist, an unknown path and a bad query.
@Suite(.enabled(if: Curl.available || requiresEndToEnd, "needs /usr/bin/curl (scripts/install-deps)"))
struct WebViewRoutesTests {
    /// A front serving only the web view on a free port, over `WebViewFixture`'s cluster, with `samples` in its
    /// energy history.
    static func withFront(samples: [EnergySample] = [], _ body: (String) async throws -> Void) async throws {
        var configuration = HTTPFrontConfiguration()
        configuration.listen = "127.0.0.1:0"
        configuration.webView.enabled = true
        let logs = CapturedLogs()
        let logger = Logger(label: "web-view-test") { _ in CapturedLogHandler(logs: logs) }
        let history = EnergyHistoryRecorder(capacity: 3, interval: .seconds(5))
        for sample in samples { history.record(sample) }
        let ports = ManagerServicesTests.Calls<Int>()
        let service = try HTTPFrontService(
            configuration: configuration,
            routes: [WebViewRoutes(source: WebViewFixture.source, history: history, logger: logger)],
            logger: logger,
            onListening: { ports.append($0) }
        )
        let ended = try await ManagerServicesTests.run([service], logger: logger) {
            #expect(await ManagerServicesTests.eventually(timeout: .seconds(60)) { !ports.all.isEmpty })
            let port = try #require(ports.all.first)
            try await body("http://127.0.0.1:\(port)")
        }
        #expect((try? ended.get()) != nil, "\(ended)")
        #expect(!logs.all.contains { $0.message == "web view request failed" }, "\(logs.all)")
    }

    @Test func thePageAndItsAssetsAreServedFromTheBinary() async throws {
        try await Self.withFront { base in
            for path in ["/ui", "/ui/"] {
                let page = try await Curl.run(["\(base)\(path)"])
                #expect(page.status == 200, "\(path): \(page)")
                #expect(page.contentType == "text/html; charset=utf-8")
                #expect(page.body.contains(#"<script src="/ui/app.js"></script>"#))
                #expect(page.body.contains(#"id="tree""#) && page.body.contains(#"id="chart""#))
                // Nothing from elsewhere: every reference is the front's own.
                #expect(!page.body.contains("http://") && !page.body.contains("https://"))
            }
            let script = try await Curl.run(["\(base)/ui/app.js"])
            #expect(script.status == 200 && script.contentType == "text/javascript; charset=utf-8", "\(script)")
            for expected in ["/ui/state", "/ui/energy", "new EventSource(\"/events\")", "POLL_MS = 2000"] {
                #expect(script.body.contains(expected), "app.js lacks \(expected)")
            }
            #expect(!script.body.contains("innerHTML"), "names must be set as text")
            let style = try await Curl.run(["\(base)/ui/style.css"])
            #expect(style.status == 200 && style.contentType == "text/css; charset=utf-8", "\(style)")
        }
    }

    @Test func stateIsTheHierarchyWithWattsAsJSON() async throws {
        try await Self.withFront { base in
            let reply = try await Curl.run(["\(base)/ui/state"])
            #expect(reply.status == 200, "\(reply)")
            #expect(reply.contentType == "application/json")
            #expect(reply.headers.lowercased().contains("cache-control: no-store"))
            let state = try reply.object()
            #expect(state["leader"] as? String == WebViewFixture.managerID)
            #expect(state["time"] as? Int == 1_700_000_000_000)
            let manager = try #require((state["groupManagers"] as? [[String: Any]])?.first)
            let hosts = try #require(manager["hosts"] as? [[String: Any]])
            #expect(hosts.compactMap { $0["id"] as? String } == ["h1", "h2", "h3"])
            #expect(hosts.compactMap { $0["state"] as? String } == ["active", "sleeping", "waking"])
            #expect(hosts[0]["watts"] as? Double == 150)
            #expect((hosts[0]["vms"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["web-1", "web-2"])
            let cluster = try #require(state["cluster"] as? [String: Any])
            #expect(cluster["watts"] as? Double == 158)
            #expect(cluster["hostsAwake"] as? Int == 1)
            #expect(cluster["savedShare"] as? Double == 0.375)
        }
    }

    @Test func oneHostByIdAndA404NamingAHostThatDoesNotExist() async throws {
        try await Self.withFront { base in
            let found = try await Curl.run(["\(base)/ui/hosts/h2"])
            #expect(found.status == 200, "\(found)")
            let object = try found.object()
            #expect(object["groupManager"] as? String == WebViewFixture.managerID)
            let host = try #require(object["host"] as? [String: Any])
            #expect(host["id"] as? String == "h2" && host["state"] as? String == "sleeping")
            #expect(host["watts"] as? Double == 8)

            let missing = try await Curl.run(["\(base)/ui/hosts/host-9"])
            #expect(missing.status == 404, "\(missing)")
            #expect(missing.contentType == "text/plain; charset=utf-8")
            #expect(missing.body == "no host 'host-9' (known: h1, h2, h3)\n", "\(missing)")
        }
    }

    @Test(arguments: ["/ui/nope", "/ui/hosts", "/ui/hosts/h1/vms", "/ui/state/extra", "/ui/a/b/c"])
    func anUnknownPathUnderUIIsA404NamingWhatIsServed(path: String) async throws {
        try await Self.withFront { base in
            let reply = try await Curl.run(["\(base)\(path)"])
            #expect(reply.status == 404, "\(path): \(reply)")
            #expect(reply.body.hasPrefix("nothing is served at \(path)"), "\(reply)")
            #expect(reply.body.contains("/ui/state") && reply.body.contains("/ui/hosts/ID"), "\(reply)")
        }
    }

    @Test func energyIsTheBoundedHistoryOldestFirst() async throws {
        let samples = (1...5).map {
            EnergySample(time: Int64($0) * 1000, watts: Double($0) * 100, hostsAwake: $0, hosts: 5, savedShare: 0.25)
        }
        try await Self.withFront(samples: samples) { base in
            let reply = try await Curl.run(["\(base)/ui/energy"])
            #expect(reply.status == 200, "\(reply)")
            #expect(reply.contentType == "application/json")
            let object = try reply.object()
            #expect(object["intervalSeconds"] as? Double == 5)
            #expect(object["capacity"] as? Int == 3)
            let held = try #require(object["samples"] as? [[String: Any]])
            #expect(held.compactMap { $0["time"] as? Int } == [3000, 4000, 5000])
            #expect(Set(held[0].keys) == ["time", "watts", "hostsAwake", "hosts", "savedShare"])
            #expect(held[0]["watts"] as? Double == 300 && held[0]["hostsAwake"] as? Int == 3)

            let newer = try await Curl.run(["\(base)/ui/energy?after=4000"])
            let newerSamples = try #require(try newer.object()["samples"] as? [[String: Any]])
            #expect(newerSamples.compactMap { $0["time"] as? Int } == [5000])

            let bad = try await Curl.run(["\(base)/ui/energy?after=yesterday"])
            #expect(bad.status == 400, "\(bad)")
            #expect(bad.body == "after='yesterday' is not a time in milliseconds since 1970\n", "\(bad)")
        }
    }
}

/// The page's reads every 2 s are logged at debug; everything else as before (warning for 5xx, else info).
@Suite struct WebViewAccessLogTests {
    @Test(arguments: [
        ("GET", "/ui/state", 200, Logger.Level.debug),
        ("GET", "/ui/energy", 200, .debug),
        ("GET", "/ui/hosts/host-9", 404, .info),
        ("GET", "/ui", 200, .info),
        ("POST", "/ui/state", 404, .info),
        ("GET", "/ui/state", 500, .warning),
        ("GET", "/bootstrap", 200, .info),
    ])
    func answeredReadsUnderUIAreDebug(method: String, path: String, status: Int, level: Logger.Level) {
        #expect(AccessLogLevel.of(method: method, path: path, status: status) == level)
    }
}
