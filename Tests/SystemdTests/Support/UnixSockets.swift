#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What sd_notify talks to: a datagram socket bound at `path`, as systemd's own notify socket is.
final class DatagramListener {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        self.fd = try makeUnixSocket(type: Int32(SOCK_DGRAM.rawValue))
        do {
            try bindUnix(self.fd, path: path)
        } catch {
            close(self.fd)
            throw error
        }
    }

    deinit {
        close(self.fd)
        unlink(self.path)
    }

    /// The next datagram as text, or `nil` if none arrives within `timeout`.
    func receive(timeout: Duration = .seconds(5)) -> String? {
        guard waitReadable(self.fd, timeout: timeout) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(self.fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

struct SocketError: Error, CustomStringConvertible {
    let call: String
    let errno: Int32
    var description: String { "\(self.call): \(String(cString: strerror(self.errno)))" }
}

func makeUnixSocket(type: Int32) throws -> Int32 {
    let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SocketError(call: "socket", errno: errno) }
    return fd
}

func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
    withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
        sunPath.copyBytes(from: bytes)
    }
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
}

func bindUnix(_ fd: Int32, path: String) throws {
    let result = withUnixAddress(path) { bind(fd, $0, $1) }
    guard result == 0 else { throw SocketError(call: "bind", errno: errno) }
}

/// Connects a new stream socket to `path`; `nil` while nobody listens there yet.
func connectUnixStream(path: String) throws -> Int32? {
    let fd = try makeUnixSocket(type: Int32(SOCK_STREAM.rawValue))
    guard withUnixAddress(path, { connect(fd, $0, $1) }) == 0 else {
        close(fd)
        return nil
    }
    return fd
}

func waitReadable(_ fd: Int32, timeout: Duration) -> Bool {
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    return poll(&descriptor, 1, milliseconds) == 1
}

/// Reads until end of stream or `timeout`.
func readAll(_ fd: Int32, timeout: Duration = .seconds(30)) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1024)
    while waitReadable(fd, timeout: timeout) {
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { break }
        bytes += buffer[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
