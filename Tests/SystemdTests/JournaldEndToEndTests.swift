import Foundation
import Logging
import Systemd
import TestSupport
import Testing

extension SystemdSuite {
    /// JournalLogHandler against a real systemd-journald, its entries read back with journalctl.
    ///
    /// sd_journal_sendv always writes to /run/systemd/journal/socket, so the logging process must live where
    /// a private journald owns that path: the test re-runs this binary, limited to this one test, under
    /// scripts/with-journald; in that child the test logs instead of checking.
    @Suite struct JournaldEndToEndTests {
        static let identifierVariable = "TORPOR_TEST_JOURNAL_IDENTIFIER"
        static let journaldMissing =
            "needs root (unshare of mount and PID namespaces) and systemd-journald for a private journald"

        @Test(
            .enabled(
                if: TestChild.role == "journal" || Prerequisites.runs(Prerequisites.privateJournald),
                "SKIPPED end-to-end: no private journald (needs root and systemd-journald)"
            )
        )
        func entriesReachJournald() async throws {
            if TestChild.role == "journal" {
                try Self.logAsChild()
                return
            }
            try Prerequisites.require(Prerequisites.privateJournald, Self.journaldMissing)
            let directory = try TemporaryDirectory("journal")
            defer { directory.remove() }
            let identifier = "torpor-test-\(ProcessInfo.processInfo.processIdentifier)"

            let child = try await ChildProcess.run(
                ["\(repositoryRoot)/scripts/with-journald", directory.file("out")]
                    + TestChild.command(running: "entriesReachJournald"),
                environment: TestChild.environment(role: "journal", [Self.identifierVariable: identifier]),
                outputPath: directory.file("child.log")
            )
            try #require(child.status == 0, "logging child failed:\n\(child.output)")

            let entries = try await Self.readJournal(directory, identifier: identifier)
            #expect(entries.count == 2, "\(entries)")  // the debug entry is below the logger's level

            let started = try #require(entries.first { $0["MESSAGE"] == "VM started" }, "\(entries)")
            #expect(started["PRIORITY"] == "6")
            #expect(started["SYSLOG_IDENTIFIER"] == identifier)
            #expect(started["CODE_FILE"] == "Agent/VMs.swift")
            #expect(started["CODE_LINE"] == "4242")
            #expect(started["CODE_FUNC"] == "start(_:)")
            #expect(started["TORPOR_LOGGER"] == "torpor.test.journal")
            #expect(started["TORPOR_VM_NAME"] == "web-1")
            #expect(started["TORPOR_HOST"] == "host-1")
            #expect(started["TORPOR_NOTE"] == "line one\nline two")
            // journald's own view: it came in over the native protocol, from the child.
            #expect(started["_TRANSPORT"] == "journal")

            let lost = try #require(entries.first { $0["MESSAGE"] == "host power lost\nfalling back to IPMI" })
            #expect(lost["PRIORITY"] == "2")
            #expect(lost["CODE_FILE"] == "SystemdTests/JournaldEndToEndTests.swift")
            #expect(lost["CODE_FUNC"] == "logAsChild()")
            #expect(lost["CODE_LINE"] != nil && lost["CODE_LINE"] == lost["TORPOR_EXPECTED_LINE"])
        }

        /// Child side, inside scripts/with-journald.
        private static func logAsChild() throws {
            let identifier = try #require(ProcessInfo.processInfo.environment[Self.identifierVariable])
            #expect(JournalLogHandler.isJournalAvailable)
            #expect(makeDaemonLogHandler(label: "torpor.test") is JournalLogHandler)

            var logger = Logger(label: "torpor.test.journal") { JournalLogHandler(label: $0, identifier: identifier) }
            logger[metadataKey: "host"] = "host-1"
            logger.info(
                "VM started",
                metadata: ["vm.name": "web-1", "note": "line one\nline two"],
                file: "Agent/VMs.swift",
                function: "start(_:)",
                line: 4242
            )
            logger.debug("below the level: never sent")
            logger.critical("host power lost\nfalling back to IPMI", metadata: ["expected-line": "\(#line)"])
        }

        /// The entries journalctl finds for `identifier`, every value as text.
        private static func readJournal(
            _ directory: TemporaryDirectory,
            identifier: String
        ) async throws
            -> [[String: String]]
        {
            let journalctl = try await ChildProcess.run(
                [
                    "/usr/bin/journalctl", "-D", directory.file("out/journal"), "--no-pager", "-o", "json",
                    "-t", identifier,
                ],
                outputPath: directory.file("journalctl.json"),
                errorPath: directory.file("journalctl.err")
            )
            try #require(journalctl.status == 0, "journalctl failed: \(journalctl.errorOutput)")
            return try journalctl.output.split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
                let fields = try #require(object as? [String: Any])
                return fields.compactMapValues(Self.text)
            }
        }

        /// journalctl's JSON gives a value as a string, or as an array of byte values when it is not printable.
        private static func text(_ value: Any) -> String? {
            if let string = value as? String { return string }
            if let bytes = value as? [Int] {
                return String(decoding: bytes.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
            }
            return nil
        }
    }
}
