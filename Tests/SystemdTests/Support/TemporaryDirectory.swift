import Foundation

/// A fresh directory under /tmp (short paths: a unix socket path must fit in 108 bytes), removed on `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ purpose: String) throws {
        var template = Array("/tmp/torpor-\(purpose).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        self.path = String(cString: made)
    }

    func file(_ name: String) -> String {
        "\(self.path)/\(name)"
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}
