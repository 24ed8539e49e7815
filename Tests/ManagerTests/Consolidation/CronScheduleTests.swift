import Foundation
import Testing

@testable import Manager

@Suite struct CronScheduleTests {
    static let utc = TimeZone(identifier: "UTC")!

    /// "2026-12-02 09:44" in UTC.
    static func date(_ text: String) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = utc
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.date(from: text)!
    }

    static func text(_ date: Date?) -> String {
        guard let date else { return "never" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = utc
        formatter.dateFormat = "yyyy-MM-dd HH:mm EEE"
        return formatter.string(from: date)
    }

    // 2026-12-02 is a Wednesday.
    @Test(arguments: [
        ("* * * * *", "2026-12-02 09:44", "2026-12-02 09:45 Wed"),
        ("0 1 * * *", "2026-12-02 09:44", "2026-12-03 01:00 Thu"),
        ("0 1 * * *", "2026-12-03 00:59", "2026-12-03 01:00 Thu"),
        // Strictly after: the minute it fires is not fired again.
        ("0 1 * * *", "2026-12-03 01:00", "2026-12-04 01:00 Fri"),
        ("*/15 * * * *", "2026-12-02 09:44", "2026-12-02 09:45 Wed"),
        ("*/15 * * * *", "2026-12-02 09:45", "2026-12-02 10:00 Wed"),
        ("5,35 */6 * * *", "2026-12-02 09:44", "2026-12-02 12:05 Wed"),
        ("0 9-17/4 * * *", "2026-12-02 13:00", "2026-12-02 17:00 Wed"),
        ("30 2 * * SUN", "2026-12-02 09:44", "2026-12-06 02:30 Sun"),
        ("30 2 * * 7", "2026-12-02 09:44", "2026-12-06 02:30 Sun"),
        ("30 2 * * 0", "2026-12-02 09:44", "2026-12-06 02:30 Sun"),
        ("0 0 1 * *", "2026-12-02 09:44", "2027-01-01 00:00 Fri"),
        ("0 0 1 jan *", "2026-12-02 09:44", "2027-01-01 00:00 Fri"),
        ("0 0 31 * *", "2027-02-01 00:00", "2027-03-31 00:00 Wed"),
        ("0 0 29 2 *", "2026-12-02 09:44", "2028-02-29 00:00 Tue"),
        // Both day fields restricted: either matches (the 15th, or a Monday).
        ("0 0 15 * MON", "2026-12-02 09:44", "2026-12-07 00:00 Mon"),
        ("0 0 15 * MON", "2026-12-08 00:00", "2026-12-14 00:00 Mon"),
        ("0 0 15 * MON", "2026-12-14 00:00", "2026-12-15 00:00 Tue"),
        // Only the day of the week restricted: both must match (any day that is a Friday).
        ("0 12 * * FRI", "2026-12-02 09:44", "2026-12-04 12:00 Fri"),
        ("59 23 31 12 *", "2026-12-31 23:59", "2027-12-31 23:59 Fri"),
    ])
    func nextFireTime(expression: String, after: String, expected: String) throws {
        let schedule = try CronSchedule(parsing: expression)
        #expect(Self.text(schedule.nextFire(after: Self.date(after), in: Self.utc)) == expected, "\(expression)")
    }

    @Test func nextFireFollowsTheTimeZonesWallClock() throws {
        let schedule = try CronSchedule(parsing: "0 1 * * *")
        let paris = TimeZone(identifier: "Europe/Paris")!
        // 01:00 in Paris in December is 00:00 UTC.
        #expect(Self.text(schedule.nextFire(after: Self.date("2026-12-02 09:44"), in: paris)) == "2026-12-03 00:00 Thu")
    }

    @Test(arguments: [
        ("", "expected 5 fields"),
        ("0 1 * *", "expected 5 fields"),
        ("0 0 1 * * 2026", "found 6"),
        ("60 * * * *", "minute '60': 60 is outside 0-59"),
        ("* 24 * * *", "hour '24': 24 is outside 0-23"),
        ("* * 0 * *", "day of month '0': 0 is outside 1-31"),
        ("* * * 13 *", "month '13'"),
        ("* * * * 8", "day of week '8'"),
        ("* * * * FUN", "'FUN' is not a number or a name"),
        ("5-1 * * * *", "the range 5-1 runs backwards"),
        ("*/0 * * * *", "the step '0'"),
        ("*/x * * * *", "the step 'x'"),
        ("5/10 * * * *", "a step needs '*' or a range"),
        ("1,,2 * * * *", "an empty list item"),
        ("*/5/2 * * * *", "more than one '/'"),
        ("@daily", "expected 5 fields"),
        ("? * * * *", "'?' is not a number"),
        ("0 0 31 4,6 *", "never fires"),
        ("0 0 30 2 *", "never fires"),
        ("-1 * * * *", "minute '-1'"),
    ])
    func badExpressionsNameTheProblem(expression: String, hint: String) {
        #expect {
            try CronSchedule(parsing: expression)
        } throws: { error in
            "\(error)".contains(hint) && "\(error)".contains("'\(expression)' is not a cron expression")
        }
    }
}
