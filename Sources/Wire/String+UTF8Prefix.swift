extension String {
    /// The longest prefix of at most `limit` UTF-8 bytes that ends at a scalar boundary: how a sender cuts a free
    /// text (a reason, an error, a problem) to the length its message allows.
    func prefix(utf8Bytes limit: Int) -> String {
        guard utf8.count > limit else { return self }
        var bytes = 0
        var scalars = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            bytes += UTF8.width(scalar)
            guard bytes <= limit else { break }
            scalars.append(scalar)
        }
        return String(scalars)
    }
}
