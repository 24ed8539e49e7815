import Foundation
import Testing

/// The agent binary logging to a private journald: its entries carry MESSAGE, PRIORITY, SYSLOG_IDENTIFIER,
/// CODE_* and the TORPOR_ fields from its metadata.
@Suite(.enabled(if: EndToEnd.runs(EndToEnd.privateJournaldProblem), EndToEnd.reason(EndToEnd.privateJournaldProblem)))
struct AgentJournalTests {
    @Test func agentEntriesAreStructuredInTheJournal() async throws {
        try EndToEnd.require(EndToEnd.privateJournaldProblem)
        let out = try ProcessRunner.scratchDirectory(prefix: "torpor-agent-journal")
        defer { try? FileManager.default.removeItem(at: out) }
        let port = try AgentUnderTest.freePort()
        // The agent runs for three seconds, then `timeout` stops it with SIGTERM (a clean stop, logged too).
        let run = try await ProcessRunner.run(
            [
                KVMLab.packageRoot.appendingPathComponent("scripts/with-journald").path, out.path,
                "timeout", "-s", "TERM", "3",
                try KVMLab.product("torpor-agent"), "--host-id", "journal-host", "--libvirt-uri", "test:///default",
                "--listen", "127.0.0.1:\(port)", "--log", "journal",
            ],
            timeout: .seconds(60)
        )
        // 77 (no private journald) fails here: a test that did not check never passes.
        // timeout(1) exits 124 when it had to stop the program; the agent itself exits 0 on SIGTERM.
        #expect(run.status == 124, "\(run)")

        let read = try await ProcessRunner.run([
            "journalctl", "-D", out.appendingPathComponent("journal").path, "--no-pager", "-o", "json",
            "-t", "torpor-agent",
        ])
        let entries = read.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let ready = try #require(entries.first { $0["MESSAGE"] as? String == "agent ready" }, "\(read)")
        #expect(ready["PRIORITY"] as? String == "6")
        #expect(ready["SYSLOG_IDENTIFIER"] as? String == "torpor-agent")
        #expect(ready["TORPOR_HOST"] as? String == "journal-host")
        #expect(ready["TORPOR_VMS"] as? String == "1")
        #expect((ready["CODE_FILE"] as? String)?.hasSuffix("AgentDaemon.swift") == true)
        #expect(ready["CODE_FUNC"] as? String != nil)
        #expect(Int(ready["CODE_LINE"] as? String ?? "") != nil)
        #expect(entries.contains { $0["MESSAGE"] as? String == "agent stopping; VMs are left running" })
    }
}
