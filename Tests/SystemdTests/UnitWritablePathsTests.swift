import Agent
import Foundation
import Manager
import Testing

extension SystemdSuite {
    /// Every path a daemon writes with its default configuration lies where its unit lets it write: with
    /// ProtectSystem=strict everything else is read-only, and a write there fails only on a packaged host.
    @Suite struct UnitWritablePathsTests {
        /// The directories `unit` makes writable: StateDirectory=, CacheDirectory=, RuntimeDirectory=,
        /// LogsDirectory= and ReadWritePaths= (a leading "-" only makes a missing path no error).
        static func writableDirectories(unit name: String) throws -> [String] {
            let unit = try String(contentsOfFile: "\(repositoryRoot)/units/\(name)", encoding: .utf8)
            let roots = [
                "StateDirectory": "/var/lib/", "CacheDirectory": "/var/cache/", "RuntimeDirectory": "/run/",
                "LogsDirectory": "/var/log/", "ReadWritePaths": "",
            ]
            var directories: [String] = []
            for line in unit.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let root = roots[parts[0]] else { continue }
                for entry in parts[1].split(separator: " ") {
                    directories.append(root + (entry.hasPrefix("-") ? String(entry.dropFirst()) : String(entry)))
                }
            }
            #expect(
                unit.contains("ProtectSystem=strict"),
                "\(name) is no longer ProtectSystem=strict: revisit this test"
            )
            return directories
        }

        static func isWritable(_ path: String, under directories: [String]) -> Bool {
            directories.contains { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
        }

        @Test func managerWritesOnlyWhereItsUnitAllows() throws {
            let allowed = try Self.writableDirectories(unit: "torpor-manager.service")
            let defaults = ManagerConfiguration()
            // SQLite also writes -wal and -shm files beside the database.
            let written = [
                defaults.database, defaults.database + "-wal", defaults.database + "-shm",
                defaults.energy.sdrCacheDirectory,
            ]
            for path in written {
                #expect(
                    Self.isWritable(path, under: allowed),
                    "\(path) is read-only under the unit (allowed: \(allowed))"
                )
            }
        }

        @Test func agentWritesOnlyWhereItsUnitAllows() throws {
            let allowed = try Self.writableDirectories(unit: "torpor-agent.service")
            let defaults = AgentConfiguration(hostname: "h1")
            // The agent writes no file by default; it connects to libvirtd's socket for its default URI.
            #expect(defaults.libvirtURI == "qemu:///system")
            for path in ["/run/libvirt/libvirt-sock"] {
                #expect(
                    Self.isWritable(path, under: allowed),
                    "\(path) is read-only under the unit (allowed: \(allowed))"
                )
            }
        }
    }
}
