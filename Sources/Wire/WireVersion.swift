/// Protocol versions. A frame's header carries the version its payload is encoded in.
public enum WireVersion {
    /// The first version. Hello, Welcome and Error keep their v1 layout in every later version so that
    /// peers of any version can negotiate (see docs/protocol.md, "Evolution").
    public static let v1: UInt8 = 1
    /// The versions this build can decode and encode.
    public static let supported: ClosedRange<UInt8> = 1...1
    /// Newest version this build speaks.
    public static var current: UInt8 { supported.upperBound }

    /// The highest version both sides speak, or nil.
    public static func negotiate(local: [UInt8], remote: [UInt8]) -> UInt8? {
        Set(local).intersection(remote).max()
    }
}
