import Logging
import Testing

@testable import Manager

/// The journal turns each metadata key into an upper-case field name: keys must be distinct, `torpor.`-prefixed,
/// and made of lower-case letters and underscores only, or two keys could land in one field.
@Suite struct ManagerMetadataKeyTests {
    @Test func keysAreDistinctPrefixedJournalFieldNames() {
        let keys = ManagerMetadataKey.allCases.map(\.rawValue)
        #expect(Set(keys.map { $0.uppercased() }).count == keys.count)
        for key in keys {
            #expect(key.hasPrefix("torpor."), "\(key)")
            #expect(key.dropFirst("torpor.".count).allSatisfy { $0.isLowercase || $0 == "_" }, "\(key)")
        }
    }

    @Test func theLoggerSubscriptSetsTheKeysMetadata() {
        var logger = Logger(label: "test")
        logger[manager: .task] = "t-1"
        #expect(logger[metadataKey: "torpor.task"] == "t-1")
        #expect(logger[manager: .task] == "t-1")
    }
}
