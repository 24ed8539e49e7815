import CZlib

/// Why zlib could not compress or decompress, with zlib's code.
public enum ZlibError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input is not a whole zlib stream (bad header, bad checksum, cut short).
    case corrupt(code: Int32)
    /// The decompressed data would be larger than the limit the caller set.
    case tooLarge(limit: Int)
    /// The input is larger than zlib's one-shot calls take (4 GiB).
    case inputTooLarge(bytes: Int)
    case failed(code: Int32)

    public var description: String {
        switch self {
        case .corrupt(let code): "not a whole zlib stream (zlib \(code))"
        case .tooLarge(let limit): "decompresses to more than \(limit) bytes"
        case .inputTooLarge(let bytes): "\(bytes) bytes is more than zlib takes in one call"
        case .failed(let code): "zlib failed (\(code))"
        }
    }
}

/// zlib streams (RFC 1950: deflate with a header and an Adler-32 checksum), what GENI's `geni_compressed` asks for
/// and Python's `zlib.decompress` reads. One-shot calls on memory; the only C calls to libz are here.
public enum ZlibStream {
    /// `bytes` deflated at `level` (0 none … 9 best; 6 zlib's default).
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws(ZlibError) -> [UInt8] {
        guard bytes.count < Int(UInt32.max) else { throw .inputTooLarge(bytes: bytes.count) }
        var length = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let code = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &length, input.baseAddress, uLong(bytes.count), level)
            }
        }
        guard code == Z_OK else { throw .failed(code: code) }
        return Array(output.prefix(Int(length)))
    }

    /// The data of a zlib stream, refused past `limit` bytes (a small hostile stream can inflate enormously).
    public static func decompress(_ stream: [UInt8], limit: Int) throws(ZlibError) -> [UInt8] {
        guard stream.count < Int(UInt32.max) else { throw .inputTooLarge(bytes: stream.count) }
        // One byte of room past the limit tells "exactly the limit" from "more".
        var length = uLong(limit + 1)
        var consumed = uLong(stream.count)
        var output = [UInt8](repeating: 0, count: limit + 1)
        let code = output.withUnsafeMutableBufferPointer { out in
            stream.withUnsafeBufferPointer { input in
                uncompress2(out.baseAddress, &length, input.baseAddress, &consumed)
            }
        }
        switch code {
        case Z_OK:
            guard Int(length) <= limit else { throw .tooLarge(limit: limit) }
            return Array(output.prefix(Int(length)))
        case Z_BUF_ERROR:
            // Out of room, or a stream cut short: zlib says the same for both.
            if Int(length) > limit { throw .tooLarge(limit: limit) }
            throw .corrupt(code: code)
        case Z_DATA_ERROR: throw .corrupt(code: code)
        default: throw .failed(code: code)
        }
    }
}
