import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Debian's Python with Debian's `python3-prometheus-client` (scripts/install-deps): the real text-format parser.
private let python = "/usr/bin/python3"

/// Why the Prometheus parser cannot run here, or nil. Skipped then, unless TORPOR_REQUIRE_E2E=1 (CI), which runs
/// the suite so that it fails naming what is missing.
private let parserProblem: String? = {
    let probe: (status: Int32, output: String)
    do {
        probe = try ChildProcess.runBlocking(python, ["-c", "import prometheus_client.parser"])
    } catch {
        return "\(python) cannot run: \(error)"
    }
    return probe.status == 0
        ? nil : "\(python) cannot import prometheus_client (apt-get install python3-prometheus-client)"
}()

private let parserRuns = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1" || parserProblem == nil

/// Scrapes a daemon over HTTP with urllib, parses the body with `prometheus_client.parser`, and prints JSON: the
/// content type, every family (type and samples), and the statuses of a wrong path and a wrong method.
private let scrapeScript = #"""
    import json, sys, urllib.request, urllib.error
    from prometheus_client.parser import text_string_to_metric_families
    base = sys.argv[1]
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode("utf-8")
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = {
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
    def status(request):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
    print(json.dumps({
        "contentType": content_type,
        "families": families,
        "notFound": status(base + "/nope"),
        "post": status(urllib.request.Request(base + "/metrics", data=b"x", method="POST")),
    }))
    """#

/// One parsed scrape.
struct Scrape {
    var contentType: String
    var families: [String: (type: String, samples: [(name: String, labels: [String: String], value: Double)])]
    var notFound: Int
    var post: Int

    /// The value of the sample `name` with exactly `labels`; nil when absent.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        families.values.lazy.flatMap(\.samples).first { $0.name == name && $0.labels == labels }?.value
    }

    /// The sum over every sample named `name` whose labels include `labels`.
    func sum(_ name: String, where labels: [String: String] = [:]) -> Double {
        families.values.flatMap(\.samples)
            .filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            .reduce(0) { $0 + $1.value }
    }

    static func take(_ address: String) async throws -> Scrape {
        let output = try await ProcessRunner.run(
            [python, "-c", scrapeScript, "http://\(address)"],
            timeout: .seconds(60)
        )
        guard output.status == 0 else {
            throw ProcessRunnerError(description: "scrape of \(address) failed:\n\(output)")
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        var scrape = Scrape(
            contentType: object["contentType"] as? String ?? "",
            families: [:],
            notFound: object["notFound"] as? Int ?? 0,
            post: object["post"] as? Int ?? 0
        )
        for (name, family) in (object["families"] as? [String: [String: Any]]) ?? [:] {
            let samples = ((family["samples"] as? [[Any]]) ?? []).compactMap {
                sample -> (String, [String: String], Double)? in
                guard sample.count == 3, let name = sample[0] as? String, let labels = sample[1] as? [String: String],
                    let value = (sample[2] as? NSNumber)?.doubleValue
                else { return nil }
                return (name, labels, value)
            }
            scrape.families[name] = (family["type"] as? String ?? "", samples.map { ($0.0, $0.1, $0.2) })
        }
        return scrape
    }
}

/// A real lab with metrics on: both daemons scraped over HTTP, their text parsed by Prometheus' own Python parser,
/// and names, types and values checked against what `torpor` shows of the same lab.
@Suite(
    "metrics in a lab",
    .serialized,
    .enabled(if: parserRuns, Comment(rawValue: "SKIPPED end-to-end: \(parserProblem ?? "prerequisites present")")),
    .timeLimit(.minutes(5))
)
struct MetricsLabTests {
    @Test("manager and agents: names, types and values match the lab's state")
    func scrapeLab() async throws {
        if let parserProblem { throw ProcessRunnerError(description: "TORPOR_REQUIRE_E2E=1 but \(parserProblem)") }
        let metricsPort = TorporLabTests.freePortRange(count: 3)
        let lab = try await LabUnderTest.up(hosts: 2, extra: ["--metrics-port", "\(metricsPort)"])
        defer { lab.tearDown() }
        let manager = "127.0.0.1:\(metricsPort)"

        // Hosts by state equal `torpor hosts`, once both agents are in.
        var scrape = try await Scrape.take(manager)
        #expect(
            await lab.eventually(timeout: .seconds(60)) {
                scrape = (try? await Scrape.take(manager)) ?? scrape
                return scrape.value("torpor_agents_connected") == 2
            }
        )
        #expect(scrape.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(scrape.notFound == 404)
        #expect(scrape.post == 405)
        let hosts = try await lab.hosts()
        for state in ["active", "sleeping", "waking", "failed"] {
            let expected = hosts.values.count { ($0["state"] as? String)?.lowercased() == state }
            #expect(scrape.value("torpor_hosts", ["state": state]) == Double(expected), "hosts \(state)")
        }
        #expect(
            scrape.value("torpor_agents_connected") == Double(hosts.values.count { $0["connected"] as? Bool == true })
        )
        for (name, type) in [
            ("torpor_hosts", "gauge"), ("torpor_agents_connected", "gauge"), ("torpor_vms", "gauge"),
            ("torpor_cluster_power_watts", "gauge"), ("torpor_energy_used_joules", "counter"),
            ("torpor_energy_saved_joules", "counter"),
        ] {
            #expect(scrape.families[name]?.type == type, "\(name): \(String(describing: scrape.families[name]?.type))")
        }
        // Cordoned hosts counted as `torpor hosts` marks them.
        #expect(scrape.value("torpor_hosts_cordoned") == 0)
        #expect(try await lab.torpor(["host", "cordon", "host-2", "--reason", "metrics"]).status == 0)
        scrape = try await Scrape.take(manager)
        #expect(scrape.value("torpor_hosts_cordoned") == 1)
        #expect(scrape.families["torpor_hosts_cordoned"]?.type == "gauge")
        #expect(try await lab.torpor(["host", "uncordon", "host-2"]).status == 0)

        // No BMC in this lab: no watts per host, a cluster total of zero, and no energy counted.
        #expect(scrape.families["torpor_host_power_watts"] == nil)
        #expect(scrape.value("torpor_cluster_power_watts") == 0)
        #expect(scrape.value("torpor_energy_used_joules_total", ["host": "host-1"]) == 0)

        // A cluster defined, a VM added and started: each task counted by kind and outcome, the VM running.
        #expect(try await lab.torpor(["vc", "define", "web"]).status == 0)
        #expect(try await lab.torpor(["vc", "add", "web", try lab.template(cores: 1), "--name", "web-1"]).status == 0)
        let start = try await lab.torpor(["vc", "start", "web"])
        #expect(start.status == 0, "\(start)")
        scrape = try await Scrape.take(manager)
        #expect(scrape.families["torpor_tasks"]?.type == "counter")
        for kind in ["define", "add", "start"] {
            #expect(scrape.value("torpor_tasks_total", ["kind": kind, "outcome": "succeeded"]) == 1, "\(kind)")
        }
        #expect(scrape.value("torpor_vms", ["state": "running"]) == 1)
        #expect(scrape.value("torpor_vms", ["state": "pending"]) == 0)
        let runningHost = try #require(try await lab.vms("web")["web-1"]?["host"] as? String)
        let runningIndex = try #require(Int(runningHost.dropFirst("host-".count)))

        // Wire traffic by message type: both agents' Hellos and reports in, the Welcomes and the VM's start out, the
        // CLI's cluster requests in; every series exists from the start, at zero when nothing was seen.
        for family in [
            "torpor_wire_frames_received", "torpor_wire_frames_sent", "torpor_wire_frames_refused",
            "torpor_wire_decode_errors",
        ] {
            #expect(scrape.families[family]?.type == "counter", "\(family)")
        }
        #expect(scrape.value("torpor_wire_frames_received_total", ["type": "Hello"]) ?? 0 >= 2)
        #expect(scrape.value("torpor_wire_frames_received_total", ["type": "MonitoringReport"]) ?? 0 > 0)
        #expect(scrape.value("torpor_wire_frames_received_total", ["type": "ClusterRequest"]) ?? 0 >= 3)
        #expect(scrape.value("torpor_wire_frames_sent_total", ["type": "Welcome"]) ?? 0 >= 2)
        #expect(scrape.value("torpor_wire_frames_sent_total", ["type": "VMCommand"]) ?? 0 >= 1)
        #expect(scrape.value("torpor_wire_frames_refused_total", ["type": "PowerCommand"]) == 0)
        #expect(scrape.value("torpor_wire_decode_errors_total", ["error": "bad_magic"]) == 0)
        // An HTTP request on the Wire port: its first bytes are no frame's magic, counted as such.
        _ = try await ProcessRunner.run(["curl", "-s", "-m", "5", "http://\(lab.manager)/"])
        #expect(
            await lab.eventually(timeout: .seconds(30)) {
                scrape = (try? await Scrape.take(manager)) ?? scrape
                return scrape.value("torpor_wire_decode_errors_total", ["error": "bad_magic"]) == 1
            },
            "\(String(describing: scrape.families["torpor_wire_decode_errors"]))"
        )

        // Each agent: its collectors' duration and success, libvirt call latencies, the samples in its rings.
        for index in 1...2 {
            let address = "127.0.0.1:\(metricsPort + index)"
            var agent = try await Scrape.take(address)
            #expect(
                await lab.eventually(timeout: .seconds(60)) {
                    agent = (try? await Scrape.take(address)) ?? agent
                    return agent.value("torpor_agent_vms") == (index == runningIndex ? 1 : 0)
                        && (index != runningIndex || agent.value("torpor_agent_ring_samples", ["ring": "vm"]) ?? 0 > 0)
                },
                "agent \(index)"
            )
            #expect(agent.contentType == "text/plain; version=0.0.4; charset=utf-8")
            #expect(agent.notFound == 404)
            #expect(agent.post == 405)
            #expect(agent.families["torpor_agent_scrape_collector_success"]?.type == "gauge")
            #expect(agent.families["torpor_agent_scrape_collector_duration_seconds"]?.type == "gauge")
            // host_metrics: vms in a lab: the domains collector is the only one that runs.
            #expect(agent.value("torpor_agent_scrape_collector_success", ["collector": "domains"]) == 1)
            let took = try #require(
                agent.value("torpor_agent_scrape_collector_duration_seconds", ["collector": "domains"])
            )
            #expect(took > 0 && took < 60)
            #expect(agent.families["torpor_agent_libvirt_call_duration_seconds"]?.type == "histogram")
            #expect(agent.sum("torpor_agent_libvirt_call_duration_seconds_count") > 0)
            #expect(
                agent.value("torpor_agent_libvirt_call_duration_seconds_count", ["function": "virNodeGetInfo"]) ?? 0
                    >= 1
            )
            #expect(agent.value("torpor_agent_ring_samples", ["ring": "host"]) ?? 0 > 0)
            #expect(agent.families["torpor_agent_ring_samples"]?.type == "gauge")
            // Its link to the manager: the Hello and reports out, the Welcome in.
            #expect(agent.value("torpor_wire_frames_sent_total", ["type": "Hello"]) ?? 0 >= 1)
            #expect(agent.value("torpor_wire_frames_sent_total", ["type": "MonitoringReport"]) ?? 0 > 0)
            #expect(agent.value("torpor_wire_frames_received_total", ["type": "Welcome"]) ?? 0 >= 1)
            if index == runningIndex {
                #expect(agent.value("torpor_wire_frames_received_total", ["type": "VMCommand"]) ?? 0 >= 1)
            }
        }
    }
}
