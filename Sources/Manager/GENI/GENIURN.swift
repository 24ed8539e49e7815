/// GENI URNs: `urn:publicid:IDN+<authority>+<type>+<name>` (the API's slice, sliver, node and user identifiers).
public struct GENIURN: Hashable, Sendable, CustomStringConvertible {
    public var authority: String
    public var type: String
    public var name: String

    public init(authority: String, type: String, name: String) {
        self.authority = authority
        self.type = type
        self.name = name
    }

    /// Parses a URN; nil unless it has the prefix and three non-empty `+`-separated parts (case of the prefix aside).
    public init?(parsing text: String) {
        let prefix = "urn:publicid:IDN+"
        guard text.count <= 1024, text.lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        let parts = text.dropFirst(prefix.count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        authority = String(parts[0])
        type = String(parts[1])
        name = String(parts[2])
    }

    public var description: String { "urn:publicid:IDN+\(authority)+\(type)+\(name)" }

    /// The virtual cluster that holds a slice's slivers: `slice-` and the slice's name where it is a valid cluster
    /// name, with a hash of the whole URN so slices of the same name at two authorities do not meet.
    public var clusterName: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in description.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        let safe = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" })
        return "slice-\(safe.prefix(40))-\(String(hash, radix: 16).prefix(10))"
    }
}
