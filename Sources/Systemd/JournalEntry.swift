import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One journal entry as `NAME=value` fields, sent with a single sd_journal_sendv(3) call.
///
/// Values may hold newlines or any bytes: sd_journal_sendv switches such fields to the native protocol's
/// length-prefixed form. Names must already be valid journald field names (see ``JournalFields``).
struct JournalEntry: Sendable {
    /// `NAME=value` for every field, back to back; `ranges` delimits them.
    private var bytes: [UInt8] = []
    private var ranges: [Range<Int>] = []

    init() {}

    /// The fields as `NAME=value` text, in order: for tests and diagnostics.
    var assignments: [String] {
        self.ranges.map { String(decoding: self.bytes[$0], as: UTF8.self) }
    }

    mutating func append(_ name: String, _ value: String) {
        let start = self.bytes.count
        self.bytes.append(contentsOf: name.utf8)
        self.bytes.append(UInt8(ascii: "="))
        self.bytes.append(contentsOf: value.utf8)
        self.ranges.append(start..<self.bytes.count)
    }

    /// Hands the entry to journald. Succeeds without journald listening: sd_journal_sendv ignores a missing socket.
    func send() throws(SystemdError) {
        let result = self.bytes.withUnsafeBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -EINVAL }
            // sd_journal_sendv only reads through the iovecs; the mutable pointer is C's signature, not a write.
            var vectors = self.ranges.map { range in
                iovec(iov_base: UnsafeMutableRawPointer(mutating: base + range.lowerBound), iov_len: range.count)
            }
            return sd_journal_sendv(&vectors, Int32(vectors.count))
        }
        try check(result, "sd_journal_sendv")
    }
}
