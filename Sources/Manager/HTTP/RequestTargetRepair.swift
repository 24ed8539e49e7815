/// Puts back the leading `/` that old HTTP/1.1 clients leave off a request target (`POST groupmanager?x HTTP/1.1`):
/// the HTTP parser refuses such a line, and Snooze's clients send it. It reads the byte stream in front of the parser
/// and follows request boundaries (request line, headers, a `Content-Length` body), touching request lines only.
///
/// A pure state machine over bytes, so it is tested table-driven without sockets. After a chunked body it stops
/// repairing that connection (it would have to parse chunks) and passes everything through.
struct RequestTargetRepair: Sendable {
    enum State: Equatable, Sendable {
        case requestLine
        case headers(contentLength: Int, chunked: Bool)
        case body(remaining: Int)
        case passThrough
    }

    /// The longest request or header line held back while incomplete; a longer one passes through unchanged (the
    /// parser then refuses it under its own limits).
    static let maximumLineLength = 64 * 1024

    private(set) var state = State.requestLine
    private var line: [UInt8] = []

    /// The bytes to hand to the HTTP parser for `input`; an incomplete line is held until its end arrives.
    mutating func process(_ input: some Collection<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count + 1)
        var index = input.startIndex
        while index != input.endIndex {
            switch state {
            case .passThrough:
                output.append(contentsOf: line)
                line.removeAll()
                output.append(contentsOf: input[index...])
                return output
            case .body(let remaining):
                let available = input.distance(from: index, to: input.endIndex)
                let taken = min(remaining, available)
                let end = input.index(index, offsetBy: taken)
                output.append(contentsOf: input[index..<end])
                index = end
                state = remaining == taken ? .requestLine : .body(remaining: remaining - taken)
            case .requestLine, .headers:
                let byte = input[index]
                index = input.index(after: index)
                line.append(byte)
                if byte == UInt8(ascii: "\n") {
                    output.append(contentsOf: endLine())
                } else if line.count > Self.maximumLineLength {
                    state = .passThrough
                }
            }
        }
        return output
    }

    /// The completed line in `line`, repaired when it is a request line; moves to the next state.
    private mutating func endLine() -> [UInt8] {
        defer { line.removeAll(keepingCapacity: true) }
        let content = line.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        switch state {
        case .requestLine:
            // Empty lines between requests are allowed (RFC 9112 §2.2) and left as they are.
            guard !content.isEmpty else { return line }
            state = .headers(contentLength: 0, chunked: false)
            return Self.repaired(requestLine: line)
        case .headers(var contentLength, var chunked):
            guard !content.isEmpty else {
                if chunked {
                    state = .passThrough
                } else {
                    state = contentLength > 0 ? .body(remaining: contentLength) : .requestLine
                }
                return line
            }
            let text = String(decoding: content, as: UTF8.self)
            if let colon = text.firstIndex(of: ":") {
                let name = text[..<colon].trimmingSpaces.lowercased()
                let value = text[text.index(after: colon)...].trimmingSpaces
                if name == "content-length", let length = Int(value), length >= 0 {
                    contentLength = length
                } else if name == "transfer-encoding", value.lowercased().contains("chunked") {
                    chunked = true
                }
            }
            state = .headers(contentLength: contentLength, chunked: chunked)
            return line
        case .body, .passThrough:
            return line
        }
    }

    /// `METHOD target VERSION` with `/` put in front of a target that is neither origin-form (`/…`), absolute-form
    /// (`scheme://…`) nor asterisk-form (`*`).
    static func repaired(requestLine: [UInt8]) -> [UInt8] {
        guard let firstSpace = requestLine.firstIndex(of: UInt8(ascii: " ")) else { return requestLine }
        let targetStart = requestLine.index(after: firstSpace)
        guard targetStart < requestLine.endIndex else { return requestLine }
        let targetEnd = requestLine[targetStart...].firstIndex { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }
            ?? requestLine.endIndex
        let target = requestLine[targetStart..<targetEnd]
        guard let first = target.first, first != UInt8(ascii: "/"), first != UInt8(ascii: "*") else {
            return requestLine
        }
        if String(decoding: target, as: UTF8.self).contains("://") { return requestLine }
        var fixed = Array(requestLine[..<targetStart])
        fixed.append(UInt8(ascii: "/"))
        fixed.append(contentsOf: requestLine[targetStart...])
        return fixed
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
