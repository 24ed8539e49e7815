import Foundation
import Testing

/// A wake through IPMI with every daemon logging to a real (private) journald: the wake is in the journal with
/// its structured fields, and no entry holds a BMC password.
@Suite(.enabled(if: EndToEnd.runs(EndToEnd.privateJournaldProblem), EndToEnd.reason(EndToEnd.privateJournaldProblem)))
struct EnergyJournalTests {
    @Test func bmcPasswordsNeverReachTheJournal() async throws {
        try EndToEnd.require(EndToEnd.privateJournaldProblem)
        let out = try ProcessRunner.scratchDirectory(prefix: "torpor-energy-journal")
        defer { try? FileManager.default.removeItem(at: out) }
        let lab = out.appendingPathComponent("lab").path
        let port = TorporLabTests.freePortRange(count: 2 * 3 + 1)
        let template = out.appendingPathComponent("big.xml").path
        try """
        <domain type='test'><name>big</name><memory unit='MiB'>512</memory><vcpu>4</vcpu>
        <os><type arch='x86_64'>hvm</type></os></domain>
        """.write(toFile: template, atomically: true, encoding: .utf8)
        // Two 4-core hosts, one reserved: one sleeps; two 4-core VMs wake it through IPMI.
        let script = """
            T="$1"; LAB="$2"; PORT="$3"; TPL="$4"; TL="$5"; M="127.0.0.1:$PORT"
            "$TL" up --hosts 2 --host-cores 4 --bmc --idle-time 2 --reserved 1 --minimum-awake 0 \\
                --log journal --dir "$LAB" --base-port "$PORT" || exit 10
            for i in $(seq 1 120); do "$T" hosts --manager "$M" | grep -q SLEEPING && break; sleep 0.25; done
            "$T" vc define c --manager "$M" && "$T" vc add c "$TPL" --name c --count 2 --manager "$M" \\
                && "$T" vc start c --manager "$M"
            rc=$?
            "$T" hosts --manager "$M"
            "$TL" down --dir "$LAB"
            exit $rc
            """
        let run = try await ProcessRunner.run(
            [
                KVMLab.packageRoot.appendingPathComponent("scripts/with-journald").path, out.path,
                "bash", "-c", script, "energy-journal", try KVMLab.product("torpor"), lab, "\(port)", template,
                try KVMLab.product("torpor-lab"),
            ],
            timeout: .seconds(180)
        )
        // 77 (no private journald) fails here: a test that did not check never passes.
        #expect(run.status == 0, "\(run)")

        let read = try await ProcessRunner.run([
            "journalctl", "-D", out.appendingPathComponent("journal").path, "--no-pager", "-o", "json",
        ])
        let lines = read.stdout.split(separator: "\n").map(String.init)
        let entries = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        // The wake is there, structured: the journal really holds the manager's entries.
        let wake = entries.first {
            $0["SYSLOG_IDENTIFIER"] as? String == "torpor-manager" && $0["MESSAGE"] as? String == "waking a host"
        }
        #expect(wake?["TORPOR_DRIVER"] as? String == "IPMI", "\(entries.count) entries")
        #expect(entries.contains { $0["MESSAGE"] as? String == "host woke" })
        #expect(entries.contains { $0["SYSLOG_IDENTIFIER"] as? String == "torpor-agent" })
        let passwords = try (1...2).map {
            try String(contentsOfFile: "\(lab)/bmc-\($0)/password", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(passwords.allSatisfy { $0.count >= 12 })
        for password in passwords {
            #expect(!lines.contains { $0.contains(password) }, "a BMC password is in the journal")
        }
    }
}
