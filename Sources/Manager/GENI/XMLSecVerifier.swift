import Commands
import Foundation
import NIOPosix

/// Verifies a GENI credential's XML signature with Debian's `xmlsec1 --verify` (docs/geni.md): the signing key must
/// come from an X.509 certificate in the signature that chains to one of the clearinghouse roots (`geni.trust_roots`,
/// passed as `--trusted-pem`); raw keys and references outside the document are refused. The program runs as a
/// child process (CommandRunner: nothing blocks the cooperative pool); its file is written and removed on NIO's
/// thread pool.
public struct XMLSecVerifier: Sendable {
    /// The folder of trusted root certificates (`*.pem`, `*.crt`, one certificate each).
    public var trustRoots: String
    public var program = "xmlsec1"
    public var timeout: Duration = .seconds(30)

    public init(trustRoots: String) {
        self.trustRoots = trustRoots
    }

    public func verify(_ document: String) async -> GENICredentialCheck.Signature {
        let folder = trustRoots
        let prepared: (file: String, roots: [String])
        do {
            prepared = try await NIOThreadPool.singleton.runIfActive {
                let names = try FileManager.default.contentsOfDirectory(atPath: folder)
                let roots = names.sorted().filter { $0.hasSuffix(".pem") || $0.hasSuffix(".crt") }.map { "\(folder)/\($0)" }
                let file = FileManager.default.temporaryDirectory
                    .appendingPathComponent("torpor-credential-\(UUID().uuidString).xml").path
                try Data(document.utf8).write(to: URL(fileURLWithPath: file))
                return (file, roots)
            }
        } catch {
            return .untrusted("cannot prepare the check: \(error)")
        }
        defer {
            let file = prepared.file
            NIOThreadPool.singleton.submit { _ in try? FileManager.default.removeItem(atPath: file) }
        }
        guard !prepared.roots.isEmpty else { return .untrusted("no trusted root in \(folder)") }
        var argv = [program, "--verify", "--enabled-key-data", "x509", "--enabled-reference-uris", "same-doc"]
        for root in prepared.roots { argv += ["--trusted-pem", root] }
        argv.append(prepared.file)
        let outcome: CommandOutcome
        do {
            outcome = try await CommandRunner.run(argv, timeout: timeout)
        } catch {
            return .untrusted("cannot run \(program): \(error)")
        }
        if outcome.succeeded { return .trusted }
        if outcome.termination == .timedOut { return .untrusted("\(program) did not answer within \(timeout)") }
        return .untrusted(Self.summary(outcome.standardError))
    }

    /// xmlsec1's stderr in a line: each error's text and OpenSSL's `msg=` (why a certificate failed), once each.
    static func summary(_ stderr: String) -> String {
        var parts: [String] = []
        func add(_ text: Substring) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty, trimmed != "xmlsec library function failed", !parts.contains(trimmed) {
                parts.append(trimmed)
            }
        }
        for line in stderr.split(whereSeparator: \.isNewline) {
            if let error = line.range(of: ":error=") {
                let rest = line[error.upperBound...].drop { $0.isNumber }.dropFirst()
                add(rest.prefix { $0 != ":" })
            }
            if let message = line.range(of: "msg=") {
                add(line[message.upperBound...].prefix { $0 != ";" })
            }
        }
        if parts.isEmpty {
            parts = stderr.split(whereSeparator: \.isNewline).suffix(2).map(String.init)
        }
        return String(parts.joined(separator: "; ").prefix(300))
    }
}
