import Testing

@testable import Manager

/// The byte-stream repair in front of the HTTP parser, table-driven: what goes in, what the parser sees.
@Suite struct RequestTargetRepairTests {
    static let cases: [(name: String, input: String, output: String)] = [
        (
            "a target without its slash gets one",
            "POST groupmanager?startVirtualCluster HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST /groupmanager?startVirtualCluster HTTP/1.1\r\nHost: a\r\n\r\n"
        ),
        ("origin-form is left alone", "GET /bootstrap?x HTTP/1.1\r\n\r\n", "GET /bootstrap?x HTTP/1.1\r\n\r\n"),
        ("absolute-form is left alone", "GET http://h:1/b HTTP/1.1\r\n\r\n", "GET http://h:1/b HTTP/1.1\r\n\r\n"),
        ("asterisk-form is left alone", "OPTIONS * HTTP/1.1\r\n\r\n", "OPTIONS * HTTP/1.1\r\n\r\n"),
        ("bare LF lines are repaired too", "GET bootstrap HTTP/1.1\nHost: a\n\n", "GET /bootstrap HTTP/1.1\nHost: a\n\n"),
        (
            "a body that looks like a request line is not touched, the next request is",
            "POST a HTTP/1.1\r\nContent-Length: 17\r\n\r\nGET b HTTP/1.1\r\n\r\nGET c HTTP/1.1\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 17\r\n\r\nGET b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"
        ),
        (
            "content-length is read whatever its case and spacing",
            "POST a HTTP/1.1\r\ncontent-LENGTH:  3 \r\n\r\nb cGET d HTTP/1.1\r\n\r\n",
            "POST /a HTTP/1.1\r\ncontent-LENGTH:  3 \r\n\r\nb cGET /d HTTP/1.1\r\n\r\n"
        ),
        (
            "after a chunked body everything passes through",
            "POST a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET b HTTP/1.1\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET b HTTP/1.1\r\n\r\n"
        ),
        ("empty lines between requests stay", "\r\nGET a HTTP/1.1\r\n\r\n", "\r\nGET /a HTTP/1.1\r\n\r\n"),
        ("a line without a target is left to the parser", "GARBAGE\r\n\r\n", "GARBAGE\r\n\r\n"),
    ]

    @Test(arguments: cases.indices)
    func wholeInputs(_ index: Int) {
        let example = Self.cases[index]
        var repair = RequestTargetRepair()
        #expect(String(decoding: repair.process(Array(example.input.utf8)), as: UTF8.self) == example.output, "\(example.name)")
    }

    /// Byte by byte, as a slow client sends it: the same output, lines held until complete.
    @Test(arguments: cases.indices)
    func oneByteAtATime(_ index: Int) {
        let example = Self.cases[index]
        var repair = RequestTargetRepair()
        var output: [UInt8] = []
        for byte in example.input.utf8 { output += repair.process([byte]) }
        #expect(String(decoding: output, as: UTF8.self) == example.output, "\(example.name)")
    }

    @Test func aLineOverTheLimitPassesThroughUnchanged() {
        var repair = RequestTargetRepair()
        let long = "GET a" + String(repeating: "b", count: RequestTargetRepair.maximumLineLength + 10)
        let output = repair.process(Array(long.utf8))
        #expect(output == Array(long.utf8))
        #expect(repair.state == .passThrough)
    }
}
