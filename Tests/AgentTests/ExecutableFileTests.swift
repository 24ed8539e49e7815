import Commands
import Foundation
import Testing

/// The scripts the lab and the tests write and then run.
struct ExecutableFileTests {
    @Test func writesTheTextRunnableEvenOverAnExistingFile() throws {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-executable")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("power-on").path
        try "an older, longer file that was not executable\n".write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)

        try ExecutableFile.write("#!/bin/sh\necho ran\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "#!/bin/sh\necho ran\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o755)
    }

    @Test func aFileThatCannotBeWrittenIsNamedWithTheReason() throws {
        let path = "/nonexistent-torpor-directory/power-on"
        let error = #expect(throws: ExecutableFile.WriteError.self) {
            try ExecutableFile.write("#!/bin/sh\n", to: path)
        }
        #expect(error?.localizedDescription == "open \(path): No such file or directory")
    }
}
