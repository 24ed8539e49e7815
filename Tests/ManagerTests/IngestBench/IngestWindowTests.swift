import IngestBench
import Testing

struct IngestWindowTests {
    static func window(sent: Int, behind: Int = 0, processed: Int, late: Int = 0) -> IngestWindow {
        IngestWindow(
            agents: 1000,
            seconds: 10,
            sent: sent,
            sentBehind: behind,
            processed: processed,
            late: late,
            agentsCPUPercent: 50
        )
    }

    @Test(
        "a window's verdict: sustained, not sustained, or the agents' side saturated",
        arguments: [
            (window(sent: 10_000, processed: 10_000), SustainSearch.Verdict.sustained),
            // Reports in flight at the window's edges: within 1 %.
            (window(sent: 10_020, processed: 9950), .sustained),
            (window(sent: 10_000, processed: 10_000, late: 1), .notSustained),
            (window(sent: 10_000, processed: 9800), .notSustained),
            (window(sent: 9000, processed: 9000), .agentsSaturated),
            (window(sent: 10_000, behind: 500, processed: 10_000), .agentsSaturated),
        ]
    )
    func verdict(_ window: IngestWindow, _ expected: SustainSearch.Verdict) {
        #expect(window.expected == 10_000)
        #expect(window.verdict == expected)
    }
}

struct IngestDriverOptionsTests {
    @Test("options: sizes, seconds, plaintext only, the gRPC binary, torpor-manager for the group-manager rows")
    func parsed() throws {
        let options = try IngestDriver.Options(
            arguments: [
                "--agents", "200 1000,5000", "--seconds", "5", "--plaintext-only", "--grpc", "/x/ingest-grpc",
                "--group-manager", "/x/torpor-manager",
            ]
        )
        #expect(options.managerExecutable == "/x/torpor-manager")
        #expect(options.sizes == [200, 1000, 5000])
        #expect(options.seconds == 5)
        #expect(options.warmUp == 2.5)
        #expect(options.plaintextOnly)
        #expect(options.grpcExecutable == "/x/ingest-grpc")
        #expect(try IngestDriver.Options(arguments: []).sizes == [1000, 5000, 10_000])
    }

    @Test(
        "bad options are refused naming the problem",
        arguments: [
            (["--agents", "ten"], "--agents"), (["--agents", "0"], "--agents"), (["--seconds", "0.5"], "--seconds"),
            (["--seconds"], "--seconds needs a value"), (["--fast"], "unknown option '--fast'"),
            (["--refinements", "-1"], "--refinements"), (["--group-manager"], "--group-manager needs a value"),
        ]
    )
    func refused(_ arguments: [String], _ named: String) {
        #expect {
            _ = try IngestDriver.Options(arguments: arguments)
        } throws: { error in
            "\(error)".contains(named)
        }
    }
}
