import Foundation
import Transport
import Trust

/// The lab's cluster CA and certificates (`torpor-lab up --tls`, and always with `--wol`, whose addresses are not
/// loopback): `DIR/tls/ca/` holds the CA, `DIR/tls/` a manager certificate, one agent certificate per host and an
/// operator certificate for the lab's own probes and for the person using the lab (`environment`).
enum LabTLS {
    static func directory(_ lab: String) -> String { lab + "/tls" }

    /// Makes a fresh CA (replacing a previous lab's) and the certificates of `holders` (role, name).
    static func make(in lab: String, hosts: Int) throws {
        let directory = directory(lab)
        try? FileManager.default.removeItem(atPath: directory)
        do {
            let authority = try ClusterAuthority.create(in: directory + "/ca", name: "Torpor lab CA")
            var holders: [(CertificateRole, String)] = [(.manager, "lab-manager"), (.operator, "operator")]
            holders += (1...max(hosts, 1)).map { (.agent, "host-\($0)") }
            for (role, name) in holders {
                _ = try authority.issue(role: role, name: name, validity: .seconds(30 * 86_400), writingTo: "\(directory)/\(name)")
            }
        } catch {
            throw LabError("cannot make the lab's certificates in \(directory): \(error)")
        }
    }

    /// Removes a previous lab's certificates, so that a plaintext lab is not probed with them.
    static func remove(in lab: String) {
        try? FileManager.default.removeItem(atPath: directory(lab))
    }

    static func isEnabled(in lab: String) -> Bool {
        FileManager.default.fileExists(atPath: directory(lab) + "/operator.pem")
    }

    /// The `tls:` section of `name`'s configuration: its certificate, or plaintext (the lab's loopback addresses).
    static func section(in lab: String, holder name: String) -> String {
        guard isEnabled(in: lab) else { return "tls: { allow_plaintext: true }" }
        let directory = directory(lab)
        return """
            tls:
              certificate: \(directory)/\(name).pem
              key: \(directory)/\(name)-key.pem
              ca: \(directory)/ca/ca.pem
              crl: \(directory)/ca/crl.pem
            """
    }

    /// What agentctl and torpor need to reach a TLS lab as its operator; empty for a plaintext lab.
    static func environment(in lab: String) -> [String: String] {
        guard isEnabled(in: lab) else { return [:] }
        let directory = directory(lab)
        return [
            "TORPOR_CA": "\(directory)/ca/ca.pem",
            "TORPOR_CERT": "\(directory)/operator.pem",
            "TORPOR_KEY": "\(directory)/operator-key.pem",
        ]
    }

    /// The operator's TLS for the lab's own probes, or plaintext.
    static func security(in lab: String) -> WireSecurity {
        let environment = environment(in: lab)
        guard let ca = environment["TORPOR_CA"], let certificate = environment["TORPOR_CERT"],
            let key = environment["TORPOR_KEY"],
            let tls = try? WireTLS.load(certificatePath: certificate, keyPath: key, caBundlePath: ca)
        else { return .plaintext }
        return .tls(tls)
    }
}
