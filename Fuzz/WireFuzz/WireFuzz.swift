import NIOCore
import Wire

// A libFuzzer target over every Wire decoder. scripts/fuzz-wire builds it with `-sanitize=fuzzer,address` and
// `-DWIRE_LIBFUZZER`, and `main` hands control to libFuzzer. A plain `swift build` gets a `main` that replays the
// files given as arguments through the same function, to reproduce a crash without the fuzzer.
//
// Any decoding error is fine; a crash, a sanitizer report or a broken invariant (trapped here) is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    fuzzFrameStream(input)
    fuzzMessageDecoder(input)
    fuzzPayloads(input)
    return 0
}

/// What a decoder made of a byte stream: the items in order, then the error that stopped it, if any.
private struct Outcome<Item: Equatable>: Equatable {
    var items: [Item] = []
    var error: WireError?
    var leftover = 0
}

/// Frames from the whole input at once must equal frames from the input fed in small chunks: a decoder that
/// returns nil must leave the buffer as it found it.
private func fuzzFrameStream(_ input: ByteBuffer) {
    let whole = decodeFrames(input, chunkSize: max(input.readableBytes, 1), maximum: 1 << 20)
    let chunkSize = 1 + Int(input.getInteger(at: input.readerIndex, as: UInt8.self) ?? 0) % 7
    let chunked = decodeFrames(input, chunkSize: chunkSize, maximum: 1 << 20)
    check(whole == chunked, "chunked frame decoding differs from whole")

    // A small maximum exercises frameTooLarge; everything it accepts, the default decoder accepts too.
    let small = decodeFrames(input, chunkSize: input.readableBytes + 1, maximum: 64)
    check(small.items.allSatisfy { $0.payload.readableBytes <= 64 }, "frame above the maximum accepted")
    check(whole.items.starts(with: small.items), "a smaller maximum changed the frames it accepts")

    for frame in whole.items {
        check(frame.payload.readableBytes <= 1 << 20, "frame above the default maximum accepted")
        let envelope: WireEnvelope?
        do {
            envelope = try WireEnvelope(frame: frame)
        } catch {
            continue
        }
        guard let envelope else {
            check(frame.flags.contains(.ignorable), "a frame was dropped without the ignorable flag")
            continue
        }
        checkRoundTrip(envelope)
    }
}

private func decodeFrames(_ input: ByteBuffer, chunkSize: Int, maximum: Int) -> Outcome<WireFrame> {
    var decoder = WireFrameDecoder(maximumPayloadLength: maximum)
    var outcome = Outcome<WireFrame>()
    var source = input
    var buffered = ByteBuffer()
    while let chunk = source.readSlice(length: min(chunkSize, source.readableBytes)), chunk.readableBytes > 0 {
        buffered.writeImmutableBuffer(chunk)
        do {
            while let frame = try decoder.decodeFrame(buffer: &buffered) {
                outcome.items.append(frame)
            }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    do {
        while let frame = try decoder.decodeLast(buffer: &buffered, seenEOF: true) {
            outcome.items.append(frame)
        }
    } catch let error as WireError {
        outcome.error = error
    } catch {
        fail("decodeLast threw a non-Wire error: \(error)")
    }
    outcome.leftover = buffered.readableBytes
    return outcome
}

/// The pipeline decoder must agree with frames + WireEnvelope(frame:) and surface only WireErrors.
private func fuzzMessageDecoder(_ input: ByteBuffer) {
    var decoder = WireMessageDecoder()
    var buffer = input
    var outcome = Outcome<WireEnvelope>()
    do {
        while let envelope = try decoder.decode(buffer: &buffer) {
            outcome.items.append(envelope)
        }
        while let envelope = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
            outcome.items.append(envelope)
        }
    } catch let error as WireError {
        outcome.error = error
    } catch {
        fail("WireMessageDecoder threw a non-Wire error: \(error)")
    }

    var expected = Outcome<WireEnvelope>()
    let frames = WireFrameDecoder()
    var reference = input
    do {
        while let frame = try frames.decodeFrame(buffer: &reference) {
            if let envelope = try WireEnvelope(frame: frame) { expected.items.append(envelope) }
        }
        if reference.readableBytes > 0 { throw WireError.truncatedFrame(bufferedBytes: reference.readableBytes) }
    } catch let error as WireError {
        expected.error = error
    } catch {
        fail("unreachable: \(error)")
    }
    // NaN payloads compare unequal to themselves, so compare what the two paths re-encode to.
    check(outcome.error == expected.error, "WireMessageDecoder error differs from frames + envelope")
    check(encoded(outcome.items) == encoded(expected.items), "WireMessageDecoder output differs")
}

/// The raw input as the payload of every message type.
private func fuzzPayloads(_ input: ByteBuffer) {
    for type in WireMessageType.allCases {
        var payload = input
        guard let message = try? WireMessage.decode(type: type, payload: &payload) else { continue }
        check(payload.readableBytes == 0, "\(type) decoded without consuming its payload")
        check(message.type == type, "\(type) decoded as \(message.type)")
        checkRoundTrip(WireEnvelope(requestID: 1, message: message))
    }
}

/// decode(encode(x)) == x, and re-encoding is stable byte for byte.
private func checkRoundTrip(_ envelope: WireEnvelope) {
    var bytes = ByteBuffer()
    envelope.encode(into: &bytes)
    let decoded = decodeExactlyOne(bytes, envelope.message.type)
    // A NaN makes a message unequal to itself, but `x == x` can still be true: Array's == short-cuts on shared
    // storage. Two decodes share nothing, so they are equal exactly when no NaN is involved.
    if decoded == decodeExactlyOne(bytes, envelope.message.type) {
        check(decoded == envelope, "decode(encode(x)) != x for \(envelope.message.type)")
    }
    check(encoded([decoded]) == bytes, "re-encoding \(envelope.message.type) is not stable")
}

private func decodeExactlyOne(_ bytes: ByteBuffer, _ type: WireMessageType) -> WireEnvelope {
    var reader = bytes
    do {
        let frames = WireFrameDecoder(maximumPayloadLength: .max)
        guard let frame = try frames.decodeFrame(buffer: &reader), reader.readableBytes == 0 else {
            fail("an encoded \(type) is not exactly one frame")
        }
        guard let envelope = try WireEnvelope(frame: frame) else { fail("an encoded \(type) was dropped") }
        return envelope
    } catch {
        fail("an encoded \(type) does not decode: \(error)")
    }
}

private func encoded(_ envelopes: [WireEnvelope]) -> ByteBuffer {
    var buffer = ByteBuffer()
    for envelope in envelopes { envelope.encode(into: &buffer) }
    return buffer
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(message()) }
}

private func fail(_ message: String) -> Never {
    fatalError("WireFuzz invariant broken: \(message)")
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if WIRE_LIBFUZZER
// libFuzzer's own `main` cannot be the entry point: SwiftPM links executables with `main` aliased to
// `WireFuzz_main`, so this `@main` calls libFuzzer's driver instead (needs `-enable-experimental-feature Extern`).
@_extern(c, "LLVMFuzzerRunDriver")
private func runLibFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt
#endif

@main
enum WireFuzzMain {
    static func main() {
        #if WIRE_LIBFUZZER
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runLibFuzzer(&argc, &argv, fuzz))
        #else
        replay(CommandLine.arguments.dropFirst())
        #endif
    }

    /// Without libFuzzer: `WireFuzz FILE...` runs each file through the fuzz function, to reproduce a crash.
    static func replay(_ paths: ArraySlice<String>) {
        if paths.isEmpty {
            print("usage: WireFuzz FILE...  (replays inputs; scripts/fuzz-wire builds the libFuzzer target)")
            exit(64)
        }
        for path in paths {
            guard let bytes = readFile(path) else {
                print("\(path): cannot read")
                exit(1)
            }
            _ = bytes.withUnsafeBufferPointer { buffer in
                // libFuzzer never passes a null pointer, even for an empty input.
                withUnsafePointer(to: 0 as UInt8) { empty in
                    fuzz(buffer.baseAddress ?? empty, buffer.count)
                }
            }
            print("\(path): ok (\(bytes.count) bytes)")
        }
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return ferror(file) == 0 ? bytes : nil
    }
}
