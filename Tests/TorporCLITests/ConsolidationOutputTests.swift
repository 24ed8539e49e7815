import AgentControl
import Testing
import Wire

@testable import TorporCLI

@Suite struct ConsolidationOutputTests {
    static func plan(started: Bool, reason: String = "", tasks: Bool = false) -> ConsolidationReply {
        ConsolidationReply(
            policy: "cost-aware",
            started: started,
            reason: reason,
            moves: [
                .init(
                    vm: "web-1",
                    fromHost: "h3",
                    toHost: "h1",
                    memoryBytes: 1 << 30,
                    costBytes: 1_342_177_280,
                    costSeconds: 10.75,
                    taskID: tasks ? "t-1" : ""
                ),
                .init(
                    vm: "db-1",
                    fromHost: "h3",
                    toHost: "h2",
                    memoryBytes: 4 << 30,
                    costBytes: 5 << 30,
                    costSeconds: 170,
                    taskID: tasks ? "t-2" : ""
                ),
            ],
            hostsFreed: ["h3"],
            costBytes: 6_710_886_400,
            costSeconds: 180.75,
            hostsUsedBefore: 3,
            hostsUsedAfter: 2,
            hostsLowerBound: 2
        )
    }

    @Test func aDryRunPrintsThePlanItsCostAndTheHostsItFrees() {
        let text = ConsolidationOutput.text(Self.plan(started: false), dryRun: true)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "consolidation plan (cost-aware): 2 migrations, frees h3")
        #expect(lines[1] == "cost: 6.2 GiB to copy, about 3 min of migration")
        #expect(lines[2] == "hosts in use: 3 now, 2 after (at least 2)")
        #expect(lines.contains { $0.hasPrefix("VM ") && $0.contains("FROM") && !$0.contains("TASK") })
        #expect(
            lines.contains {
                $0.hasPrefix("web-1 ") && $0.contains("h3") && $0.contains("1.0 GiB") && $0.hasSuffix("11 s")
            }
        )
        #expect(lines.last == "dry run: would run")
        let refused = ConsolidationOutput.text(
            Self.plan(started: false, reason: "the plan frees no host"),
            dryRun: true
        )
        #expect(refused.hasSuffix("dry run: would not run: the plan frees no host"))
    }

    @Test func aStartedPlanNamesItsTasks() {
        let text = ConsolidationOutput.text(Self.plan(started: true, tasks: true), dryRun: false)
        #expect(text.contains { _ in true })
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("VM ") && $0.hasSuffix("TASK") })
        #expect(lines.contains { $0.hasPrefix("db-1 ") && $0.hasSuffix("t-2") })
        #expect(lines.last == "started 2 of 2 migrations")
        let refused = ConsolidationOutput.text(
            Self.plan(started: false, reason: "2 migrations of a relocation plan still run"),
            dryRun: false
        )
        #expect(refused.hasSuffix("not started: 2 migrations of a relocation plan still run"))
    }

    @Test func theJSONHasEveryField() throws {
        let json = ConsolidationOutput.json(Self.plan(started: true, tasks: true), dryRun: false)
        #expect(json["policy"] as? String == "cost-aware")
        #expect(json["started"] as? Bool == true)
        #expect(json["dryRun"] as? Bool == false)
        #expect(json["hostsFreed"] as? [String] == ["h3"])
        #expect(json["costSeconds"] as? Double == 180.75)
        #expect(json["hostsLowerBound"] as? Int == 2)
        #expect(json["reason"] == nil)
        let moves = try #require(json["moves"] as? [[String: Any]])
        #expect(moves.map { $0["vm"] as? String } == ["web-1", "db-1"])
        #expect(moves[0]["task"] as? String == "t-1")
        #expect(moves[1]["costBytes"] as? Int == 5 << 30)
        #expect(json["moveCount"] as? Int == 2)
    }

    @Test func aCutPlanSaysHowManyMovesItHas() {
        var plan = Self.plan(started: true, tasks: true)
        plan.moveCount = 30_000
        let text = ConsolidationOutput.text(plan, dryRun: false)
        #expect(text.hasPrefix("consolidation plan (cost-aware): 30000 migrations, frees h3"))
        #expect(text.contains("(the first 2 of 30000 migrations)"))
        #expect(text.hasSuffix("started the plan's 30000 migrations"))
    }

    @Test(arguments: [(0.4, "0 s"), (44.6, "45 s"), (119, "119 s"), (180.75, "3 min"), (7_200, "2.0 h")])
    func durations(seconds: Double, text: String) {
        #expect(ConsolidationOutput.duration(seconds) == text)
    }

    @Test func theCommandParsesDryRunAndJSON() throws {
        let command = try ClusterConsolidate.parse(["--dry-run", "--json", "--manager", "10.0.0.1:7700"])
        #expect(command.dryRun)
        #expect(command.options.json)
        #expect(command.options.manager == "10.0.0.1:7700")
        #expect(try !ClusterConsolidate.parse([]).dryRun)
    }
}
