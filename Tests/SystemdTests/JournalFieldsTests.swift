import Logging
import Testing

@testable import Systemd

extension SystemdSuite {
    @Suite struct JournalFieldsTests {
        @Test(arguments: [
            ("vm.name", "TORPOR_VM_NAME"),
            ("host_id", "TORPOR_HOST_ID"),
            ("torpor.host", "TORPOR_HOST"),
            ("torpor.vm.name", "TORPOR_VM_NAME"),
            ("Peer-Address", "TORPOR_PEER_ADDRESS"),
            ("élan 2", "TORPOR__LAN_2"),
            ("", "TORPOR_"),
        ])
        func metadataKeysBecomeUpperCaseTorporFields(key: String, field: String) {
            #expect(JournalFields.metadataField(for: key) == field)
        }

        @Test func fieldNamesStopAtJournaldsLimit() {
            let field = JournalFields.metadataField(for: String(repeating: "k", count: 100))
            #expect(field.utf8.count == 64)
            #expect(field.hasPrefix("TORPOR_KKK"))
        }

        @Test func levelsMapToSyslogPriorities() {
            let priorities = Logger.Level.allCases.map { JournalFields.priority(for: $0) }
            // trace, debug, info, notice, warning, error, critical
            #expect(priorities == [7, 7, 6, 5, 4, 3, 2])
        }

        @Test func entryKeepsValuesByteForByte() {
            var entry = JournalEntry()
            entry.append("MESSAGE", "two\nlines = and an equals sign")
            entry.append("TORPOR_EMPTY", "")
            #expect(entry.assignments == ["MESSAGE=two\nlines = and an equals sign", "TORPOR_EMPTY="])
        }

        /// Without journald (no socket here unless the host runs systemd) sending still succeeds, which is why
        /// the journald tests read entries back instead of trusting the return code.
        @Test func sendingWithoutJournaldIsSilentlyDropped() throws {
            var entry = JournalEntry()
            entry.append("MESSAGE", "dropped unless journald listens")
            try entry.send()
        }
    }
}
