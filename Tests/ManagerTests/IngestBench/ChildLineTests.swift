import Testing

@testable import IngestBench

/// The ingest driver waits for its children's lines with a deadline: a service whose agents never finish
/// connecting must end its row, not hang the run.
struct ChildLineTests {
    @Test func aLineThatComesInTimeIsRead() throws {
        let child = try Child(["sh", "-c", "echo connected 3 0; exec sleep 30"])
        defer { child.stop() }
        #expect(child.line(within: .seconds(20)) == "connected 3 0")
    }

    @Test func noLineBeforeTheDeadlineLeavesTheChildRunningAndIsStoppedAfter() throws {
        // A child that ignores its closed stdin, as agents stuck connecting did: stop() terminates it.
        let child = try Child(["sh", "-c", "exec sleep 30"])
        #expect(child.line(within: .milliseconds(300)) == nil)
        #expect(child.isRunning)
        child.stop()
        #expect(!child.isRunning)
    }

    @Test func aChildThatEndsGivesNoLine() throws {
        let child = try Child(["true"])
        defer { child.stop() }
        #expect(child.line(within: .seconds(20)) == nil)
    }
}
