import ArgumentParser
import Testing
import Wire

@testable import TorporCLI

/// `torpor vm migrate` and `migrate-cancel`: parsing, and how a migration task is shown.
@Suite struct VMMigrateTests {
    @Test func parsesTheDestinationAndEveryMethod() throws {
        let plain = try VMMigrate.parse(["web-1", "--to", "kvm-08"])
        #expect(plain.vm == "web-1")
        #expect(plain.to == "kvm-08")
        #expect(plain.method == .live)
        #expect(!plain.wait.noWait)
        let methods: [(String, VMCommand.Migration.Method)] = [
            ("live", .live),
            ("copy-storage-all", .liveNonSharedFullDisk),
            ("copy-storage-inc", .liveNonSharedIncrementalDisk),
        ]
        for (name, wire) in methods {
            let command = try VMMigrate.parse(["web-1", "--to", "kvm-08", "--method", name, "--no-wait", "--json"])
            #expect(command.method.wire == wire)
            #expect(command.wait.noWait)
            #expect(command.options.json)
        }
    }

    /// A migration is waited for however long it takes; `--wait-timeout` is an explicit cap (other tasks' default
    /// of 300 s cut long migrations short with exit 75).
    @Test func theWaitHasNoDefaultCap() throws {
        #expect(try VMMigrate.parse(["web-1", "--to", "kvm-08"]).wait.waitTimeout == nil)
        #expect(try VMMigrate.parse(["web-1", "--to", "kvm-08", "--wait-timeout", "30"]).wait.waitTimeout == 30)
        for bad in ["0", "-1", "inf", "nan"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try VMMigrate.parse(["web-1", "--to", "kvm-08", "--wait-timeout", bad])
            }
        }
    }

    @Test(
        arguments: [
            (nil, 1000),
            (.seconds(3600), 1000),
            (.milliseconds(1000), 1000),
            (.milliseconds(250), 250),
            (.microseconds(10), 1),
            (.zero, nil),
            (.seconds(-1), nil),
        ] as [(Duration?, UInt32?)]
    )
    func eachStatusRequestWaitsASecondAtMostAndNeverPastTheCap(left: Duration?, expected: UInt32?) {
        #expect(ClusterClient.nextWait(left: left) == expected)
    }

    @Test func withoutADestinationTheManagerChooses() throws {
        #expect(try VMMigrate.parse(["web-1"]).to == nil)
        #expect(try VMMigrate.parse(["web-1", "--to", "kvm-08"]).to == "kvm-08")
    }

    @Test(arguments: [
        ["web-1", "--to", ""],
        ["web-1", "--to", "kvm-08", "--method", "offline"],
        ["--to", "kvm-08"],
    ])
    func badArgumentsAreUsageErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { try VMMigrate.parse(arguments) }
    }

    @Test func cancelTakesTheVM() throws {
        #expect(try VMMigrateCancel.parse(["web-1"]).vm == "web-1")
        #expect(throws: (any Error).self) { try VMMigrateCancel.parse([]) }
    }

    static func status(_ phase: TaskMigration.Phase, steps: [MigrationProgress.TakenStep] = []) -> TaskStatus {
        TaskStatus(
            id: "t-0a1b2c3d",
            kind: "migrate",
            cluster: "web",
            state: phase.isFinal ? (phase == .completed ? .succeeded : .failed) : .running,
            message: "migrating web-1 from kvm-07 to kvm-08",
            createdAtUnixMilliseconds: 1_795_000_000_000,
            updatedAtUnixMilliseconds: 1_795_000_004_200,
            outcomes: [.init(vm: "web-1", state: .inProgress, hostID: "kvm-07", message: "migrating to kvm-08")],
            migration: TaskMigration(
                sourceHostID: "kvm-07",
                destinationHostID: "kvm-08",
                method: .liveNonSharedFullDisk,
                phase: phase,
                reason: "operator",
                startedAtUnixMilliseconds: phase == .waiting ? 0 : 1_795_000_000_100,
                elapsedMilliseconds: 4_100,
                dataTotalBytes: 1 << 30,
                dataProcessedBytes: 768 << 20,
                dataRemainingBytes: 256 << 20,
                memoryDirtyRateBytesPerSecond: 12 << 20,
                iteration: 3,
                steps: steps
            )
        )
    }

    @Test func theTextShowsTheMigrationItsCountersAndSteps() {
        let steps = [
            MigrationProgress.TakenStep(.raiseDowntime, atMilliseconds: 31_000),
            MigrationProgress.TakenStep(.abort, atMilliseconds: 90_100),
        ]
        let text = TaskOutput.text(Self.status(.aborted, steps: steps))
        #expect(text.contains("migration kvm-07 → kvm-08 (copy-storage-all, operator): aborted"), "\(text)")
        #expect(
            text.contains("768.0 MiB of 1.0 GiB, 256.0 MiB left, dirty 12.0 MiB/s, iteration 3, 4.1 s"),
            "\(text)"
        )
        #expect(text.contains("watchdog steps: raise_downtime at 31.0 s, abort at 90.1 s"), "\(text)")
    }

    @Test func theJSONHasAMigrationObject() throws {
        let json = TaskOutput.json(Self.status(.copying, steps: [.init(.pause, atMilliseconds: 5)]))
        let migration = try #require(json["migration"] as? [String: Any])
        #expect(migration["source"] as? String == "kvm-07")
        #expect(migration["destination"] as? String == "kvm-08")
        #expect(migration["method"] as? String == "copy-storage-all")
        #expect(migration["phase"] as? String == "copying")
        #expect(migration["dataRemainingBytes"] as? UInt64 == 256 << 20)
        let steps = try #require(migration["steps"] as? [[String: Any]])
        #expect(steps.first?["step"] as? String == "pause")
        #expect(steps.first?["atMilliseconds"] as? UInt64 == 5)
        // Other tasks have none.
        var plain = Self.status(.copying)
        plain.migration = nil
        #expect(TaskOutput.json(plain)["migration"] == nil)
    }

    @Test func theProgressLineChangesItsKeyOnlyWithThePhaseOrASteps() {
        let copying = TaskOutput.progressLine(Self.status(.copying))
        #expect(copying.text.hasPrefix("t-0a1b2c3d copying kvm-07 → kvm-08: 768.0 MiB of 1.0 GiB"), "\(copying.text)")
        var later = Self.status(.copying)
        later.migration?.dataRemainingBytes = 1 << 20
        #expect(TaskOutput.progressLine(later).key == copying.key)
        #expect(TaskOutput.progressLine(later).text != copying.text)
        let stepped = TaskOutput.progressLine(Self.status(.copying, steps: [.init(.raiseDowntime, atMilliseconds: 1)]))
        #expect(stepped.key != copying.key)
        #expect(stepped.text.hasSuffix("; steps: raise_downtime at 0.0 s"), "\(stepped.text)")
        let waiting = TaskOutput.progressLine(Self.status(.waiting))
        #expect(waiting.text == "t-0a1b2c3d running: migrating web-1 from kvm-07 to kvm-08")
    }
}
