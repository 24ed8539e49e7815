import Foundation
import TestSupport
import Testing

/// Debian's Python, Chromium and chromedriver with Debian's `python3-selenium` (scripts/install-deps).
private let python = "/usr/bin/python3"
private let chromium = "/usr/bin/chromium"
private let chromedriver = "/usr/bin/chromedriver"

/// Why headless Chromium cannot be driven here, or nil. Skipped then, unless TORPOR_REQUIRE_E2E=1 (CI), which runs
/// the suite so that it fails naming what is missing.
private let browserProblem: String? = {
    for path in [python, chromium, chromedriver] where !FileManager.default.isExecutableFile(atPath: path) {
        return "\(path) is missing (apt-get install chromium chromium-driver python3-selenium)"
    }
    let probe: (status: Int32, output: String)
    do {
        probe = try ChildProcess.runBlocking(python, ["-c", "import selenium.webdriver"])
    } catch {
        return "\(python) cannot run: \(error)"
    }
    return probe.status == 0 ? nil : "\(python) cannot import selenium (apt-get install python3-selenium)"
}()

private let browserRuns = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1" || browserProblem == nil

/// Drives headless Chromium through chromedriver (both on ports of 14000–14999, the suite's own range): opens the
/// web view, waits until it shows every host awake with its watts, runs the given command (a host going to sleep),
/// waits until the page shows that host asleep, then reads the summary and the chart and writes a screenshot.
/// Prints what it saw as JSON, also when it fails (exit status 1 and the reason on stderr).
private let browserScript = #"""
    import json, socket, subprocess, sys, time
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    base, screenshot, target, command, profile, expected = sys.argv[1:7]
    expected = int(expected)

    def free_port(first, last):
        for port in range(first, last + 1):
            probe = socket.socket()
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass
            finally:
                probe.close()
        raise SystemExit(f"no free port in {first}-{last}")

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1100", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", f"--user-data-dir={profile}",
                     f"--remote-debugging-port={free_port(14500, 14999)}"]:
        options.add_argument(argument)
    service = Service("/usr/bin/chromedriver", port=free_port(14000, 14499))
    result = {}
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)

    def wait(condition, seconds, what):
        deadline = time.monotonic() + seconds
        problem = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as error:
                problem = error
            time.sleep(0.25)
        body = driver.find_element(By.TAG_NAME, "body").text
        raise SystemExit(f"waited {seconds} s for {what} ({problem}); the page shows:\n{body[:3000]}")

    # The page redraws itself every few seconds, so element handles go stale between two WebDriver calls:
    # each reading is one script, which runs between two redraws.
    def hosts():
        return driver.execute_script("""
            const seen = {};
            for (const node of document.querySelectorAll(".host[data-host]")) {
                seen[node.getAttribute("data-host")] = {state: node.getAttribute("data-state"), text: node.innerText};
            }
            return seen;""")

    def all_awake_with_watts():
        seen = hosts()
        ready = len(seen) == expected and all(
            host["state"] == "active" and " W" in host["text"] for host in seen.values())
        return seen if ready else None

    try:
        driver.get(base + "/ui/")
        result["title"] = driver.title
        result["before"] = wait(all_awake_with_watts, 90, "every host awake with its watts")
        ran = subprocess.run(json.loads(command), capture_output=True, text=True, timeout=180)
        result["command"] = {"status": ran.returncode, "stdout": ran.stdout, "stderr": ran.stderr}
        asleep = lambda: (lambda seen: seen if seen.get(target, {}).get("state") == "sleeping" else None)(hosts())
        result["after"] = wait(asleep, 120, f"{target} asleep on the page")
        samples = lambda: driver.execute_script(
            'return Number(document.getElementById("chart").getAttribute("data-samples") || 0)')
        wait(lambda: samples() >= 2, 60, "two energy samples in the chart")
        awake = lambda: driver.execute_script('return document.getElementById("hosts-awake").innerText')
        wait(lambda: "1 / " in awake(), 60, "the summary's hosts awake")
        result.update(driver.execute_script("""
            const chart = document.getElementById("chart");
            const summary = {};
            for (const name of ["leader-name", "cluster-watts", "hosts-awake", "hosts-detail", "energy-used", "mode"]) {
                summary[name] = document.getElementById(name).innerText;
            }
            return {
                chartSamples: Number(chart.getAttribute("data-samples")),
                chartSeries: Array.from(chart.querySelectorAll(".series"), node => node.getAttribute("class")),
                chartText: chart.textContent,  // an SVG element has no innerText
                summary: summary,
                error: document.body.getAttribute("data-error"),
            };"""))
    finally:
        try:
            driver.save_screenshot(screenshot)
            result["screenshot"] = screenshot
        except Exception as error:
            result["screenshotError"] = str(error)
        driver.quit()
        print(json.dumps(result))
    """#

/// The web view end to end: a real lab with BMCs serves the page on its HTTP front, real headless Chromium renders
/// it, and a host the operator puts to sleep changes the page.
@Suite(
    "web view in headless Chromium",
    .serialized,
    .enabled(if: browserRuns, Comment(rawValue: "SKIPPED end-to-end: \(browserProblem ?? "prerequisites present")")),
    .timeLimit(.minutes(8))
)
struct WebViewLabTests {
    static func curl(_ url: String) async throws -> (status: Int, body: String) {
        let output = try await ProcessRunner.run(
            ["/usr/bin/curl", "-sS", "--max-time", "60", "-w", "\n%{http_code}", url],
            timeout: .seconds(90)
        )
        guard output.status == 0 else { throw ProcessRunnerError(description: "curl \(url): \(output)") }
        var lines = output.stdout.components(separatedBy: "\n")
        let status = Int(lines.popLast() ?? "") ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    /// Copies the screenshot to `.build/test-artifacts/` (kept after the lab's directory is removed); the copy's path.
    static func keep(_ screenshot: String) -> String? {
        let directory = KVMLab.packageRoot.appendingPathComponent(".build/test-artifacts")
        let copy = directory.appendingPathComponent("web-view.png")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(atPath: screenshot, toPath: copy.path)
            return copy.path
        } catch {
            return nil
        }
    }

    @Test("the page shows the lab's hosts with their watts and follows a host going to sleep")
    func pageFollowsTheLab() async throws {
        if let browserProblem { throw ProcessRunnerError(description: "TORPOR_REQUIRE_E2E=1 but \(browserProblem)") }
        // No reserve and an hour of idle time: nothing sleeps until the operator says so.
        let lab = try await LabUnderTest.up(
            hosts: 2,
            cores: 4,
            extra: ["--bmc", "--idle-time", "3600", "--reserved", "0", "--minimum-awake", "0"],
            portsPerHost: 3,
            httpFront: true
        )
        defer { lab.tearDown() }
        let base = "http://127.0.0.1:\(try #require(lab.httpPort))"

        // The JSON the page reads: both hosts awake with their BMC's watts, as `torpor hosts` has them.
        var state: [String: Any] = [:]
        let ready = await lab.eventually(timeout: .seconds(90)) {
            let reply = try await Self.curl("\(base)/ui/state")
            state = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
            let hosts = ((state["groupManagers"] as? [[String: Any]])?.first?["hosts"] as? [[String: Any]]) ?? []
            return hosts.count == 2 && hosts.allSatisfy { $0["state"] as? String == "active" && $0["watts"] != nil }
        }
        #expect(ready, "\(state)")
        #expect(state["leader"] as? String == "lab-manager")
        #expect(try await lab.hosts().values.allSatisfy { $0["state"] as? String == "ACTIVE" })
        let missing = try await Self.curl("\(base)/ui/hosts/host-9")
        #expect(missing.status == 404, "\(missing)")
        #expect(missing.body.hasPrefix("no host 'host-9' (known: host-1, host-2)"), "\(missing)")
        let unknown = try await Self.curl("\(base)/ui/nope")
        #expect(unknown.status == 404 && unknown.body.hasPrefix("nothing is served at /ui/nope"), "\(unknown)")

        // host-1 cordoned for maintenance: the page says so in its line.
        let cordon = try await lab.torpor(["host", "cordon", "host-1", "--reason", "web test"])
        #expect(cordon.status == 0, "\(cordon)")

        // The browser: the page, then host-2 put to sleep by the operator while it watches.
        let screenshot = lab.directory.appendingPathComponent("web-view.png").path
        // Inside the lab's directory: teardown kills whatever names it, so a Chromium left by a crashed script goes too.
        let profile = "\(lab.lab)/chromium-profile"
        let sleep = [lab.torpor, "host", "sleep", "host-2", "--manager", lab.manager]
        let command = String(decoding: try JSONSerialization.data(withJSONObject: sleep), as: UTF8.self)
        let output = try await ProcessRunner.run(
            [python, "-c", browserScript, base, screenshot, "host-2", command, profile, "2"],
            timeout: .seconds(420)
        )
        print("web view screenshot: \(screenshot)")
        if FileManager.default.fileExists(atPath: screenshot), let kept = Self.keep(screenshot) {
            print("web view screenshot kept at \(kept)")
        }
        #expect(output.status == 0, "\(output)")
        let seen = try #require(
            try JSONSerialization.jsonObject(with: Data((output.stdout.split(separator: "\n").last ?? "").utf8))
                as? [String: Any],
            "\(output)"
        )
        #expect(seen["title"] as? String == "Torpor")
        #expect(FileManager.default.fileExists(atPath: screenshot), "\(seen)")
        let before = try #require(seen["before"] as? [String: [String: String]], "\(seen)")
        #expect(Set(before.keys) == ["host-1", "host-2"])
        for (host, row) in before {
            #expect(row["state"] == "active", "\(host): \(row)")
            // The lab's power model: 100 W idle, read through the host's BMC.
            let lines = (row["text"] ?? "").components(separatedBy: "\n")
            #expect(lines.contains("100 W") && lines.contains("on"), "\(host): \(row)")
        }
        #expect(before["host-1"]?["text"]?.contains("cordoned: web test") == true, "\(before)")
        #expect(before["host-2"]?["text"]?.contains("cordoned") == false, "\(before)")
        let ran = try #require(seen["command"] as? [String: Any], "\(seen)")
        #expect(ran["status"] as? Int == 0, "torpor host sleep: \(ran)")
        let after = try #require(seen["after"] as? [String: [String: String]], "\(seen)")
        #expect(after["host-2"]?["state"] == "sleeping", "\(after)")
        let asleepLines = (after["host-2"]?["text"] ?? "").components(separatedBy: "\n")
        #expect(asleepLines.contains("asleep"), "\(after)")
        #expect(after["host-1"]?["state"] == "active", "\(after)")
        #expect(try await lab.hosts()["host-2"]?["state"] as? String == "SLEEPING")
        let summary = try #require(seen["summary"] as? [String: String], "\(seen)")
        #expect(summary["leader-name"] == "lab-manager")
        #expect(summary["hosts-awake"] == "1 / 2", "\(summary)")
        #expect(summary["cluster-watts"]?.hasSuffix(" W") == true, "\(summary)")
        #expect((seen["chartSamples"] as? Int ?? 0) >= 2, "\(seen)")
        let series = (seen["chartSeries"] as? [String]) ?? []
        #expect(series.contains("series watts") && series.contains("series awake"), "\(series)")
        #expect((seen["chartText"] as? String)?.contains("hosts awake") == true, "\(seen)")
        #expect(seen["error"] is NSNull || seen["error"] == nil, "the page showed an error: \(seen)")
    }
}
