/// Which usable hosts of one subnet are taken, one bit per host, with a cursor below which every host is taken.
///
/// Taking the lowest free host starts at the cursor's word and skips full words 64 hosts at a time; filling a
/// subnet in order is therefore amortised O(1) per host, and a release only moves the cursor back to itself.
struct SubnetAllocationBitmap: Sendable {
    let subnet: IPv4Subnet
    private(set) var takenCount = 0
    private var words: [UInt64]
    /// Every host offset below this is taken.
    private var lowestPossiblyFree = 0
    private let firstHost: UInt32
    private let hostCount: Int

    init(subnet: IPv4Subnet) {
        self.subnet = subnet
        firstHost = subnet.usableHosts.lowerBound.value
        hostCount = subnet.usableHostCount
        words = Array(repeating: 0, count: (hostCount + 63) / 64)
        // Bits past the last host are marked taken so a full word is simply ~0.
        let spareBits = words.count * 64 - hostCount
        if spareBits > 0 {
            words[words.count - 1] = ~(UInt64.max >> UInt64(spareBits))
        }
    }

    var isFull: Bool { takenCount == hostCount }

    func isUsable(_ address: IPv4Address) -> Bool {
        subnet.usableHosts.contains(address)
    }

    func isTaken(_ address: IPv4Address) -> Bool {
        let offset = Int(address.value - firstHost)
        return words[offset >> 6] & (1 << UInt64(offset & 63)) != 0
    }

    /// `address` must be usable and free.
    mutating func take(_ address: IPv4Address) {
        let offset = Int(address.value - firstHost)
        words[offset >> 6] |= 1 << UInt64(offset & 63)
        takenCount += 1
    }

    /// `address` must be usable and taken.
    mutating func free(_ address: IPv4Address) {
        let offset = Int(address.value - firstHost)
        words[offset >> 6] &= ~(1 << UInt64(offset & 63))
        takenCount -= 1
        lowestPossiblyFree = min(lowestPossiblyFree, offset)
    }

    mutating func takeLowestFree() -> IPv4Address? {
        guard !isFull else {
            return nil
        }
        var wordIndex = lowestPossiblyFree >> 6
        while wordIndex < words.count {
            let word = words[wordIndex]
            if word != .max {
                let offset = wordIndex << 6 + (~word).trailingZeroBitCount
                words[wordIndex] = word | 1 << UInt64(offset & 63)
                takenCount += 1
                lowestPossiblyFree = offset + 1
                return IPv4Address(firstHost + UInt32(offset))
            }
            wordIndex += 1
        }
        return nil
    }
}
