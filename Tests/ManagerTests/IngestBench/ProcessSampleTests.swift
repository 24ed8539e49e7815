import IngestBench
import Testing

struct ProcessSampleTests {
    @Test("utime + stime are fields 14 and 15, counted after the command name's last ')'")
    func cpuTicksFromStat() throws {
        let plain = "4242 (torpor-bench) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 9 0 100 0 0"
        #expect(try ProcessSample.cpuTicks(fromStat: plain) == 1801)
        // A command name with spaces and parentheses must not shift the fields.
        let odd = "7 (a b) (c)) R 1 7 7 0 -1 4194560 900 0 0 0 10 5 0 0 20 0 1 0 100 0 0"
        #expect(try ProcessSample.cpuTicks(fromStat: odd) == 15)
    }

    @Test(
        "a stat text without the fields is an error naming what is wrong",
        arguments: ["", "4242 torpor-bench S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ten 5 0"]
    )
    func malformedStat(_ text: String) {
        #expect(throws: ProcessSample.ParseError.self) { try ProcessSample.cpuTicks(fromStat: text) }
    }

    @Test("VmRSS is read in KiB whatever the spacing; absent (a zombie) is nil")
    func residentFromStatus() {
        #expect(ProcessSample.residentKiB(fromStatus: "Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t   12345 kB\n") == 12345)
        #expect(ProcessSample.residentKiB(fromStatus: "VmRSS: 77 kB") == 77)
        #expect(ProcessSample.residentKiB(fromStatus: "Name:\tx\nState:\tZ (zombie)\n") == nil)
    }

    @Test("CPU percent of one core over a window")
    func cpuPercent() {
        let start = ProcessSample(cpuTicks: 100, residentKiB: nil)
        let end = ProcessSample(cpuTicks: 600, residentKiB: nil)
        #expect(ProcessSample.cpuPercent(from: start, to: end, seconds: 10, ticksPerSecond: 100) == 50)
        #expect(ProcessSample.cpuPercent(from: end, to: start, seconds: 10, ticksPerSecond: 100) == 0)
        #expect(ProcessSample.cpuPercent(from: start, to: end, seconds: 0, ticksPerSecond: 100) == 0)
    }
}
