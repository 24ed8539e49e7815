import Foundation

/// A strict five-field cron expression (minute hour day-of-month month day-of-week), as Snooze's
/// `reconfiguration.interval` took, and the next time it fires.
///
/// Each field is `*` or a comma-separated list of `N`, `N-M`, `*/S` or `N-M/S`; months and days of the week also
/// take their English three-letter names (`JAN`, `MON`), and day of the week 7 is Sunday like 0. As in Vixie cron,
/// when both day fields are restricted (neither starts with `*`) a day matches if either does. Nothing else is
/// accepted: no seconds field, no `@daily`, no `?`, `L` or `W`, no value out of range, no empty list item.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let expression: String
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    /// Bit 0 Sunday … bit 6 Saturday.
    let daysOfWeek: UInt64
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { expression }

    /// The fields in order: name, lowest and highest value, names for values (index + lowest).
    static let fields: [(name: String, range: ClosedRange<Int>, names: [String])] = [
        ("minute", 0...59, []),
        ("hour", 0...23, []),
        ("day of month", 1...31, []),
        ("month", 1...12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
        ("day of week", 0...7, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
    ]

    public init(parsing text: String) throws(CronParseError) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw CronParseError(
                expression: text,
                problem: "expected 5 fields (minute hour day-of-month month day-of-week), found \(parts.count)"
            )
        }
        var sets: [UInt64] = []
        for (index, part) in parts.enumerated() {
            sets.append(try Self.parseField(part, index: index, expression: text))
        }
        // Sunday is 0 and 7.
        let week = sets[4]
        self.expression = text
        self.minutes = sets[0]
        self.hours = sets[1]
        self.daysOfMonth = sets[2]
        self.months = sets[3]
        self.daysOfWeek = (week | (week >> 7)) & 0x7F
        self.dayOfMonthRestricted = !parts[2].hasPrefix("*")
        self.dayOfWeekRestricted = !parts[4].hasPrefix("*")
        guard Self.canFire(daysOfMonth: daysOfMonth, months: months) || dayOfWeekRestricted else {
            throw CronParseError(expression: text, problem: "no month has such a day: it never fires")
        }
    }

    /// False when every chosen day of the month is past the end of every chosen month (`0 0 31 4,6 *`).
    private static func canFire(daysOfMonth: UInt64, months: UInt64) -> Bool {
        let longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for month in 1...12 where months & (1 << month) != 0 {
            if daysOfMonth & ((1 << (longest[month - 1] + 1)) - 2) != 0 { return true }
        }
        return false
    }

    private static func parseField(_ text: String, index: Int, expression: String) throws(CronParseError) -> UInt64 {
        let field = fields[index]
        func fail(_ problem: String) -> CronParseError {
            CronParseError(expression: expression, problem: "\(field.name) '\(text)': \(problem)")
        }
        func value(_ word: Substring) throws(CronParseError) -> Int {
            if !word.isEmpty, word.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(word) {
                guard field.range.contains(number) else {
                    throw fail("\(number) is outside \(field.range.lowerBound)-\(field.range.upperBound)")
                }
                return number
            }
            if let position = field.names.firstIndex(of: word.uppercased()) {
                return position + field.range.lowerBound
            }
            throw fail("'\(word)' is not a number\(field.names.isEmpty ? "" : " or a name")")
        }
        var set: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw fail("an empty list item") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw fail("more than one '/' in '\(item)'") }
            var step = 1
            if stepParts.count == 2 {
                guard stepParts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let parsed = Int(stepParts[1]),
                    parsed >= 1,
                    parsed <= field.range.upperBound
                else {
                    throw fail("the step '\(stepParts[1])' is not a whole number from 1 to \(field.range.upperBound)")
                }
                step = parsed
            }
            let base = stepParts[0]
            let low: Int
            let high: Int
            if base == "*" {
                low = field.range.lowerBound
                high = field.range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[base.startIndex..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw fail("the range \(low)-\(high) runs backwards") }
            } else {
                guard stepParts.count == 1 else { throw fail("a step needs '*' or a range before it, not '\(base)'") }
                low = try value(base)
                high = low
            }
            for number in stride(from: low, through: high, by: step) { set |= 1 << number }
        }
        return set
    }

    /// The first minute strictly after `date` at which the schedule fires, in `timeZone`'s wall clock; nil if it
    /// does not fire within eight years (only a February 29 on a weekday rarely matches that late).
    public func nextFire(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let units: Set<Calendar.Component> = [.year, .month, .day, .hour, .minute, .weekday]
        // The next whole minute.
        let start = calendar.dateInterval(of: .minute, for: date).map { $0.end } ?? date.addingTimeInterval(60)
        var current = calendar.dateComponents(units, from: start)
        let lastYear = (current.year ?? 0) + 8
        func moveTo(_ components: DateComponents) -> Bool {
            guard let next = calendar.date(from: components) else { return false }
            current = calendar.dateComponents(units, from: next)
            return true
        }
        while let year = current.year, year <= lastYear {
            guard let month = current.month, let day = current.day, let hour = current.hour,
                let minute = current.minute, let weekday = current.weekday
            else { return nil }
            if months & (1 << month) == 0 {
                guard moveTo(DateComponents(year: year, month: month + 1, day: 1, hour: 0, minute: 0)) else {
                    return nil
                }
                continue
            }
            if !dayMatches(day: day, weekday: weekday - 1) {
                guard moveTo(DateComponents(year: year, month: month, day: day + 1, hour: 0, minute: 0)) else {
                    return nil
                }
                continue
            }
            if hours & (1 << hour) == 0 {
                guard moveTo(DateComponents(year: year, month: month, day: day, hour: hour + 1, minute: 0)) else {
                    return nil
                }
                continue
            }
            if minutes & (1 << minute) == 0 {
                guard moveTo(DateComponents(year: year, month: month, day: day, hour: hour, minute: minute + 1)) else {
                    return nil
                }
                continue
            }
            return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))
        }
        return nil
    }

    /// `weekday`: 0 Sunday … 6 Saturday.
    private func dayMatches(day: Int, weekday: Int) -> Bool {
        let byMonth = daysOfMonth & (1 << day) != 0
        let byWeek = daysOfWeek & (1 << weekday) != 0
        if dayOfMonthRestricted && dayOfWeekRestricted { return byMonth || byWeek }
        return byMonth && byWeek
    }
}

/// A cron expression that does not parse, naming the field and the problem.
public struct CronParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var expression: String
    public var problem: String

    public var description: String { "'\(expression)' is not a cron expression: \(problem)" }
}
