import Foundation
import TestSupport
import Testing

extension SystemdSuite {
    /// units/*.service and *.socket through `systemd-analyze verify`, via scripts/verify-units, which also
    /// fails on warnings (verify exits 0 on unknown keys).
    @Suite struct UnitFilesTests {
        static let analyzeMissing = "systemd-analyze not installed (apt-get install systemd)"

        @Test(
            .enabled(
                if: Prerequisites.runs(Prerequisites.systemdAnalyze),
                "SKIPPED end-to-end: systemd-analyze not installed"
            )
        )
        func unitsVerifyWithoutWarnings() async throws {
            try Prerequisites.require(Prerequisites.systemdAnalyze, Self.analyzeMissing)
            let directory = try TemporaryDirectory("units")
            defer { directory.remove() }
            let run = try await ChildProcess.run(
                ["\(repositoryRoot)/scripts/verify-units"],
                outputPath: directory.file("output")
            )
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("3 unit(s) clean"), "\(run.output)")
        }

        /// The check itself must catch what verify only warns about.
        @Test(
            .enabled(
                if: Prerequisites.runs(Prerequisites.systemdAnalyze),
                "SKIPPED end-to-end: systemd-analyze not installed"
            )
        )
        func verifyUnitsFailsOnAnUnknownKey() async throws {
            try Prerequisites.require(Prerequisites.systemdAnalyze, Self.analyzeMissing)
            let directory = try TemporaryDirectory("units")
            defer { directory.remove() }
            let unit = try String(contentsOfFile: "\(repositoryRoot)/units/torpor-manager.service", encoding: .utf8)
            let broken = unit.replacingOccurrences(of: "[Service]\n", with: "[Service]\nRestartSecs=2s\n")
            try broken.write(toFile: directory.file("torpor-manager.service"), atomically: true, encoding: .utf8)

            let run = try await ChildProcess.run(
                ["\(repositoryRoot)/scripts/verify-units", directory.file("torpor-manager.service")],
                outputPath: directory.file("output")
            )
            #expect(run.status == 1)
            #expect(run.output.contains("Unknown key 'RestartSecs'"), "\(run.output)")
        }

        /// The packaged services run as their own system users without capabilities, and `systemd-analyze
        /// security` rates each below the exposure scripts/build-deb allows (5.0; docs/packaging.md).
        @Test(
            .enabled(
                if: Prerequisites.runs(Prerequisites.systemdAnalyze),
                "SKIPPED end-to-end: systemd-analyze not installed"
            )
        )
        func servicesRunAsTheirUsersAndAreExposedBelowFive() async throws {
            try Prerequisites.require(Prerequisites.systemdAnalyze, Self.analyzeMissing)
            let directory = try TemporaryDirectory("units")
            defer { directory.remove() }
            let services = [("torpor-agent.service", "torpor-agent"), ("torpor-manager.service", "torpor-manager")]
            for (name, user) in services {
                let path = "\(repositoryRoot)/units/\(name)"
                let unit = try String(contentsOfFile: path, encoding: .utf8)
                let lines = Set(unit.split(separator: "\n").map(String.init))
                let required: Set = ["User=\(user)", "Group=\(user)", "CapabilityBoundingSet=", "NoNewPrivileges=yes"]
                #expect(lines.isSuperset(of: required), "\(name) lacks \(required.subtracting(lines).sorted())")

                let run = try await ChildProcess.run(
                    ["/usr/bin/systemd-analyze", "security", "--offline=yes", path],
                    outputPath: directory.file("\(name).security")
                )
                #expect(run.status == 0, "\(run.output)")
                let exposure = run.output.firstMatch(of: /Overall exposure level for [^:]+: ([0-9.]+)/)
                let value = try #require(exposure.flatMap { Double($0.1) }, "no exposure in \(run.output)")
                #expect(value < 5.0, "\(name) is exposed \(value):\n\(run.output)")
            }
        }

        @Test func agentUnitsCarryTheContract() throws {
            let socket = try String(contentsOfFile: "\(repositoryRoot)/units/torpor-agent.socket", encoding: .utf8)
            let service = try String(contentsOfFile: "\(repositoryRoot)/units/torpor-agent.service", encoding: .utf8)
            let lines = { (text: String) in Set(text.split(separator: "\n").map(String.init)) }
            // The agent looks its socket up by this name (ListenFileDescriptors.take()).
            #expect(
                lines(socket).isSuperset(of: ["ListenStream=7701", "FileDescriptorName=torpor-agent", "Accept=no"])
            )
            #expect(
                lines(service).isSuperset(of: [
                    "Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "KillMode=process",
                    "Requires=torpor-agent.socket",
                    "ExecStart=/usr/bin/torpor-agent --config /etc/torpor/agent.yaml",
                ])
            )
        }
    }
}
