// Stored by raw value in the `host.state` column.
extension HostRecord.State: Codable {}
