/// Which of the lab's hosts have joined the manager, from successive looks at its host table. A host seen connected
/// once counts as joined for good: with the energy saver on (--bmc, --wol) an idle host is put to sleep seconds after
/// it joins, and on a loaded machine that can happen before a slower agent has joined, so all of them are never
/// connected in one look.
struct LabJoinWatch: Equatable {
    let expected: Set<String>
    private(set) var joined: Set<String> = []

    init(expected: Set<String>) { self.expected = expected }

    /// Records the hosts a look found connected; true once every expected host has joined.
    mutating func saw(connected: some Sequence<String>) -> Bool {
        joined.formUnion(Set(connected).intersection(expected))
        return joined == expected
    }

    /// The hosts not seen yet, sorted.
    var missing: [String] { expected.subtracting(joined).sorted() }
}
