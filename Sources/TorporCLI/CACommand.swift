import AgentControl
import ArgumentParser
import Foundation
import Trust

/// `torpor ca init|issue|revoke|show`: the cluster CA (docs/security.md). Works on files only; no daemon is asked.
struct CACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "The cluster CA: make it, issue role certificates, revoke them.",
        discussion: """
            The CA directory holds ca.pem (give it to every daemon and CLI as tls.ca / --ca), ca-key.pem (0600, \
            keep it off the cluster's machines) and crl.pem (tls.crl; daemons reload it on SIGHUP). Certificates \
            carry the role in the subject's OU (agent, manager, operator, viewer) and the name in its CN: an \
            agent's name is its host id.
            """,
        subcommands: [CAInit.self, CAIssue.self, CARevoke.self, CAShow.self]
    )
}

struct CADirectoryOption: ParsableArguments {
    @Option(name: .long, help: "The CA directory (default: $TORPOR_CA_DIR, else ./torpor-ca).")
    var dir = ProcessInfo.processInfo.environment["TORPOR_CA_DIR"] ?? "torpor-ca"

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    var json = false
}

/// Runs `body`, printing a TrustError (as JSON with --json) and exiting 1.
private func reporting<T>(_ json: Bool, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as TrustError {
        if json {
            Output.printJSON(["error": "\(error)", "exitCode": Int(TorporExit.failed)])
        } else {
            FileHandle.standardError.write(Data("torpor: \(error)\n".utf8))
        }
        throw ExitCode(TorporExit.failed)
    }
}

private func printIdentity(_ identity: CertificateIdentity, files: [String: String], json: Bool) {
    if json {
        var fields: [String: String] = [
            "role": identity.role.rawValue, "name": identity.name, "serial": identity.serial,
            "notValidAfter": ISO8601DateFormatter().string(from: identity.notValidAfter),
        ]
        fields.merge(files) { _, new in new }
        Output.printJSON(fields)
    } else {
        print("\(identity) \(describeExpiry(identity))")
        for (what, path) in files.sorted(by: { $0.key < $1.key }) { print("  \(what): \(path)") }
    }
}

struct CAInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Make a new cluster CA in --dir (refuses to replace one)."
    )

    @OptionGroup var directory: CADirectoryOption

    @Option(name: .long, help: "The CA's common name.")
    var name = "Torpor cluster CA"

    @Option(name: .long, help: "Days the CA certificate is valid.")
    var days = 3650

    func validate() throws {
        guard (1...36500).contains(days) else { throw ValidationError("--days must be 1...36500") }
    }

    func run() throws {
        let authority = try reporting(directory.json) {
            try ClusterAuthority.create(in: directory.dir, name: name, validity: .seconds(days * 86_400))
        }
        let files = ["certificate": authority.certificatePath, "key": authority.keyPath, "crl": authority.revocationListPath]
        if directory.json {
            Output.printJSON(files)
        } else {
            print("made the cluster CA in \(directory.dir)")
            for (what, path) in files.sorted(by: { $0.key < $1.key }) { print("  \(what): \(path)") }
        }
    }
}

struct CAIssue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a certificate for a role and a name: writes OUT.pem and OUT-key.pem (0600)."
    )

    @OptionGroup var directory: CADirectoryOption

    @Option(name: .long, help: "agent, manager, operator or viewer.")
    var role: String

    @Option(name: .long, help: "The holder's name; for an agent, its host id.")
    var name: String

    @Option(name: .long, help: "Days the certificate is valid.")
    var days = 365

    @Option(name: .long, help: "Where to write: OUT.pem and OUT-key.pem (default: DIR/ROLE-NAME).")
    var out: String?

    func validate() throws {
        guard CertificateRole(rawValue: role) != nil else {
            throw ValidationError("--role must be one of \(CertificateRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...3650).contains(days) else { throw ValidationError("--days must be 1...3650") }
    }

    func run() throws {
        let certificateRole = CertificateRole(rawValue: role)!
        let prefix = out ?? "\(directory.dir)/\(certificateRole)-\(name)"
        let issued = try reporting(directory.json) {
            try ClusterAuthority.open(directory.dir).issue(
                role: certificateRole,
                name: name,
                validity: .seconds(days * 86_400),
                writingTo: prefix
            )
        }
        printIdentity(issued.identity, files: ["certificate": prefix + ".pem", "key": prefix + "-key.pem"], json: directory.json)
    }
}

struct CARevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a certificate (by file or serial) and rewrite crl.pem; then send the daemons SIGHUP."
    )

    @OptionGroup var directory: CADirectoryOption

    @Option(name: .long, help: "The certificate file to revoke.")
    var cert: String?

    @Option(name: .long, help: "The serial to revoke, hexadecimal as `openssl x509 -serial` prints it.")
    var serial: String?

    func validate() throws {
        guard (cert == nil) != (serial == nil) else { throw ValidationError("give either --cert or --serial") }
    }

    func run() throws {
        let list = try reporting(directory.json) { () throws(TrustError) -> RevocationList in
            let authority = try ClusterAuthority.open(directory.dir)
            var target = serial ?? ""
            if let cert {
                let certificate = try TrustBundle.certificates(at: cert)[0]
                guard certificate.issuer == authority.certificate.subject else {
                    throw .invalidRequest("\(cert) was not issued by this CA (\(authority.certificate.subject))")
                }
                target = CertificateIdentity.hex(certificate.serialNumber)
            }
            return try authority.revoke(serial: target)
        }
        if directory.json {
            Output.printJSON(["crl": "\(directory.dir)/crl.pem", "revoked": list.entries.map(\.serial).joined(separator: ",")])
        } else {
            print("\(directory.dir)/crl.pem now revokes \(list.entries.count) certificate(s); send SIGHUP to the daemons")
        }
    }
}

struct CAShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a certificate's role, name, serial and expiry."
    )

    @Argument(help: "A PEM certificate file.")
    var file: String

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    var json = false

    func run() throws {
        let identity = try reporting(json) { () throws(TrustError) -> CertificateIdentity in
            try CertificateIdentity(try TrustBundle.certificates(at: file)[0])
        }
        printIdentity(identity, files: [:], json: json)
        if let warning = expiryWarning(identity, whose: "this") {
            FileHandle.standardError.write(Data("torpor: \(warning)\n".utf8))
        }
    }
}
