import GRDB

// Dotted-quad text, so the `lease` table is readable with the sqlite3 shell.
extension IPv4Address: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { description.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> IPv4Address? {
        guard let text = String.fromDatabaseValue(dbValue) else {
            return nil
        }
        return try? IPv4Address(parsing: text)
    }
}
