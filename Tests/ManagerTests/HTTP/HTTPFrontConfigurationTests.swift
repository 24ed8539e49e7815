import ConfigFile
import Foundation
import Logging
import Testing

@testable import Manager

/// The `http:` section, read strictly, and the front's start-up failures naming `http.listen`.
@Suite struct HTTPFrontConfigurationTests {
    @Test func offByDefault() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml")
        #expect(configuration.http == HTTPFrontConfiguration())
        #expect(!configuration.http.enabled)
        #expect(!configuration.http.snooze.enabled)
    }

    @Test func everyKeyIsRead() throws {
        let yaml = """
            http:
              listen: 127.0.0.1:12001
              advertise: front.example.org:5000
              max_body_bytes: 65536
              idle_timeout: 30s
              snooze:
                enabled: true
                action_wait: 45s
              events:
                enabled: false
                buffer_events: 64
                keep_alive: 5s
            """
        let http = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml").http
        #expect(http.listen == "127.0.0.1:12001")
        #expect(http.advertise == "front.example.org:5000")
        #expect(http.maximumBodyBytes == 65536)
        #expect(http.idleTimeout == .seconds(30))
        #expect(http.snooze.enabled)
        #expect(http.snooze.actionWait == .seconds(45))
        #expect(!http.events.enabled)
        #expect(http.events.bufferEvents == 64)
        #expect(http.events.keepAlive == .seconds(5))
    }

    @Test func eventsAreOnWithTheFront() throws {
        let http = try ManagerConfiguration.load(yaml: "http:\n  listen: 127.0.0.1:1\n", file: "manager.yaml").http
        #expect(http.events.enabled && http.events.bufferEvents == EventBus.defaultCapacity)
    }

    @Test(arguments: [
        ("http:\n  listen: 127.0.0.1:1\n  snooze:\n    enabeld: true\n", "http.snooze.enabeld", "did you mean 'enabled'"),
        ("http:\n  listne: 127.0.0.1:1\n", "http.listne", "did you mean 'listen'"),
        ("http:\n  listen: nowhere\n", "http.listen", "is not host:port"),
        ("http:\n  listen: 127.0.0.1:1\n  advertise: 'a b'\n", "http.advertise", "is not a host or host:port"),
        ("http:\n  snooze:\n    enabled: true\n", "http.snooze.enabled", "needs http.listen"),
        ("http:\n  listen: 127.0.0.1:1\n  max_body_bytes: 10\n", "http.max_body_bytes", "outside"),
        ("http:\n  listen: 127.0.0.1:1\n  events:\n    buffer_events: 0\n", "http.events.buffer_events", "outside"),
        ("http:\n  listen: 127.0.0.1:1\n  events:\n    enable: true\n", "http.events.enable", "did you mean"),
    ])
    func badKeysAreErrorsNamingTheKey(yaml: String, key: String, problem: String) {
        #expect {
            _ = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains(key) && text.contains(problem) && text.contains("manager.yaml")
        }
    }

    @Test func aPortInUseEndsTheFrontWithAnErrorNamingHTTPListen() async throws {
        let logger = Logger(label: "test")
        var configuration = HTTPFrontConfiguration()
        configuration.listen = "127.0.0.1:0"
        let ports = ManagerServicesTests.Calls<Int>()
        let first = try HTTPFrontService(configuration: configuration, routes: [], logger: logger) { ports.append($0) }
        let ended = try await ManagerServicesTests.run([first], logger: logger) {
            #expect(await ManagerServicesTests.eventually(timeout: .seconds(180)) { !ports.all.isEmpty })
            let port = try #require(ports.all.first)
            configuration.listen = "127.0.0.1:\(port)"
            let second = try HTTPFrontService(configuration: configuration, routes: [], logger: logger)
            await #expect {
                try await second.run()
            } throws: { error in
                "\(error)".hasPrefix("cannot listen on 127.0.0.1:\(port) (http.listen): ")
            }
        }
        #expect((try? ended.get()) != nil, "\(ended)")
    }

    @Test func theManagerRunsTheFrontOnlyWhenConfigured() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-http-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ManagerConfiguration()
        configuration.listen = "127.0.0.1:0"
        configuration.database = "\(directory)/manager.sqlite"
        let logger = Logger(label: "test")
        let without = try await ManagerDaemon(configuration: configuration, logger: logger).services()
        #expect(!without.contains { $0 is HTTPFrontService })
        // Run and stopped, so that its listening socket is closed.
        #expect((try? await ManagerServicesTests.run(without, logger: logger) {}.get()) != nil)
        configuration.database = "\(directory)/manager-2.sqlite"
        configuration.http.listen = "127.0.0.1:0"
        configuration.http.snooze.enabled = true
        let ports = ManagerServicesTests.Calls<Int>()
        let with = try await ManagerDaemon(configuration: configuration, logger: logger, onHTTPListening: {
            ports.append($0)
        }).services()
        let names = with.map { "\(type(of: $0))" }
        let ended = try await ManagerServicesTests.run(with, logger: logger) {
            #expect(await ManagerServicesTests.eventually(timeout: .seconds(180)) { !ports.all.isEmpty })
            let port = try #require(ports.all.first)
            let reply = try await Curl.run(["http://127.0.0.1:\(port)/bootstrap?getGroupLeaderDescription"])
            #expect(reply.status == 200, "\(reply)")
            #expect((try reply.object()["id"]) as? String == "manager-1")
        }
        #expect((try? ended.get()) != nil, "\(ended)")
        // Started after the leader's tasks, stopped before them; systemd hears READY last.
        #expect(names.firstIndex(of: "HTTPFrontService")! > names.firstIndex(of: "TaskService")!)
        #expect(names.last == "ReadinessService")
    }
}
