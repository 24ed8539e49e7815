import Foundation
import Logging
import Testing

@testable import Systemd

extension SystemdSuite {
    @Suite struct JournalLogHandlerTests {
        /// swift-log's rule for handlers: level and metadata are values, per Logger copy.
        @Test func levelAndMetadataAreValues() {
            var first = Logger(label: "first") { JournalLogHandler(label: $0) }
            first.logLevel = .debug
            first[metadataKey: "only-on"] = "first"
            var second = first
            second.logLevel = .error
            second[metadataKey: "only-on"] = "second"

            #expect(first.logLevel == .debug)
            #expect(second.logLevel == .error)
            #expect(first[metadataKey: "only-on"] == "first")
            #expect(second[metadataKey: "only-on"] == "second")
        }

        @Test func entryCarriesEveryField() {
            var handler = JournalLogHandler(label: "torpor.agent.libvirt", identifier: "torpor-agent")
            handler.metadata = ["vm.name": "web-1"]
            let event = LogEvent(
                level: .warning,
                message: "migration slow",
                metadata: ["dirty-rate": "120 MiB/s"],
                source: "Agent",
                file: "Agent/Migration.swift",
                function: "watch(_:)",
                line: 42
            )
            let fields = Set(handler.entry(for: event).assignments)
            #expect(
                fields == [
                    "MESSAGE=migration slow", "PRIORITY=4", "SYSLOG_IDENTIFIER=torpor-agent",
                    "CODE_FILE=Agent/Migration.swift", "CODE_LINE=42", "CODE_FUNC=watch(_:)",
                    "TORPOR_LOGGER=torpor.agent.libvirt", "TORPOR_VM_NAME=web-1", "TORPOR_DIRTY_RATE=120 MiB/s",
                ]
            )
        }

        @Test func metadataMergesHandlerThenProviderThenEvent() {
            let provider = Logger.MetadataProvider { ["request": "from-provider", "task": "from-provider"] }
            var handler = JournalLogHandler(label: "t", metadataProvider: provider)
            handler.metadata = ["request": "from-handler", "task": "from-handler", "host": "from-handler"]
            let event = LogEvent(
                level: .info,
                message: "m",
                metadata: ["task": "from-event"],
                source: nil,
                file: "f",
                function: "g",
                line: 1
            )
            let fields = handler.entry(for: event).assignments.filter { $0.hasPrefix("TORPOR_") }
            #expect(
                Set(fields) == [
                    "TORPOR_LOGGER=t", "TORPOR_HOST=from-handler", "TORPOR_REQUEST=from-provider",
                    "TORPOR_TASK=from-event",
                ]
            )
        }

        @Test func errorsBecomeFieldsAndSystemdErrorsAnErrno() {
            let handler = JournalLogHandler(label: "t", metadataProvider: nil)
            let event = LogEvent(
                level: .error,
                message: "cannot notify",
                error: SystemdError(function: "sd_notify", errno: 2),
                metadata: nil,
                source: nil,
                file: "f",
                function: "g",
                line: 1
            )
            let fields = Set(handler.entry(for: event).assignments)
            #expect(fields.contains("PRIORITY=3"))
            #expect(fields.contains("ERRNO=2"))
            #expect(fields.contains("TORPOR_ERROR_MESSAGE=sd_notify: No such file or directory (errno 2)"))
            #expect(fields.contains("TORPOR_ERROR_TYPE=Systemd.SystemdError"))
        }

        @Test func daemonHandlerFollowsJournalAvailability() {
            let handler = makeDaemonLogHandler(label: "torpor.test")
            #expect((handler is JournalLogHandler) == JournalLogHandler.isJournalAvailable)
            #expect((handler is StreamLogHandler) == !JournalLogHandler.isJournalAvailable)
        }
    }
}
