import Testing

@testable import Systemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SystemdSuite {
    @Suite struct SystemdErrorTests {
        @Test func checkPassesResultsThrough() throws {
            #expect(try check(0, "sd_x") == 0)
            #expect(try check(3, "sd_x") == 3)
        }

        @Test func checkTurnsNegativeErrnoIntoTypedError() {
            #expect(throws: SystemdError(function: "sd_notify", errno: ENOENT)) {
                try check(-ENOENT, "sd_notify")
            }
        }

        @Test func descriptionNamesFunctionAndStrerrorText() {
            let error = SystemdError(function: "sd_journal_sendv", errno: EINVAL)
            #expect(error.message == "Invalid argument")
            #expect(error.description == "sd_journal_sendv: Invalid argument (errno 22)")
        }

        @Test func unknownErrnoStillDescribed() {
            #expect(SystemdError(function: "f", errno: 9999).message == "Unknown error 9999")
        }
    }
}
